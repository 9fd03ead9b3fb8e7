namespace Kuorum.Agent.Health;

/// <summary>How clients spread requests over the endpoints; one per cluster, carried in the endpoint table.</summary>
public static class EndpointStrategies
{
    /// <summary>Every request to the leader.</summary>
    public const string LeaderOnly = "leader-only";

    /// <summary>A uniformly random endpoint with weight above 0.</summary>
    public const string Random = "random";

    /// <summary>Endpoints with weight above 0 in turn.</summary>
    public const string RoundRobin = "round-robin";

    /// <summary>Smooth weighted round-robin by weight.</summary>
    public const string Weighted = "weighted";

    /// <summary>Power of two choices by outstanding requests, weighted.</summary>
    public const string LeastRequest = "least-request";

    /// <summary>Every strategy this version knows.</summary>
    public static IReadOnlyList<string> All { get; } = [LeaderOnly, Random, RoundRobin, Weighted, LeastRequest];

    /// <summary>Whether <paramref name="strategy"/> is one this version knows.</summary>
    public static bool IsKnown(string strategy) => All.Contains(strategy, StringComparer.Ordinal);
}
