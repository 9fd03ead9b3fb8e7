namespace Kuorum.Client;

/// <summary>The routing strategies an endpoint table can name (<see cref="EndpointSnapshot.Strategy"/>).</summary>
public static class EndpointStrategies
{
    /// <summary>Every request goes to the leader; weights are ignored.</summary>
    public const string LeaderOnly = "leader-only";

    /// <summary>Uniformly at random among the endpoints with weight &gt; 0.</summary>
    public const string Random = "random";

    /// <summary>In turn among the endpoints with weight &gt; 0.</summary>
    public const string RoundRobin = "round-robin";

    /// <summary>Smooth weighted round-robin (nginx's algorithm): shares exactly proportional to the weights.</summary>
    public const string Weighted = "weighted";

    /// <summary>
    /// Power of two choices: two distinct endpoints drawn by weight, the one with fewer in-flight requests per unit
    /// of weight wins (the first drawn on a tie, so an idle cluster is served in proportion to the weights).
    /// </summary>
    public const string LeastRequest = "least-request";

    /// <summary>The strategy used when a table names none or one this client does not know.</summary>
    public const string Fallback = Weighted;

    /// <summary>Every strategy this client implements.</summary>
    public static IReadOnlyList<string> All { get; } = [LeaderOnly, Random, RoundRobin, Weighted, LeastRequest];

    /// <summary>True when <paramref name="strategy"/> names a strategy this client implements (case-insensitive).</summary>
    /// <param name="strategy">A strategy name, as in <see cref="EndpointSnapshot.Strategy"/>.</param>
    /// <returns>Whether it is known.</returns>
    public static bool IsKnown(string? strategy) => TryNormalize(strategy, out _);

    /// <summary>The canonical spelling of <paramref name="strategy"/> (trimmed, case-insensitive); false when unknown.</summary>
    internal static bool TryNormalize(string? strategy, out string normalized)
    {
        var trimmed = strategy?.Trim() ?? string.Empty;
        foreach (var known in All)
        {
            if (string.Equals(known, trimmed, StringComparison.OrdinalIgnoreCase))
            {
                normalized = known;
                return true;
            }
        }

        normalized = Fallback;
        return false;
    }
}
