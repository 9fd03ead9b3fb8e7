namespace Kuorum.Agent.Health;

/// <summary>The result of <see cref="WeightCalculator.Compute"/>: every member's weight, in order of id.</summary>
/// <param name="ComputedAt">The leader's time of the computation.</param>
/// <param name="Panic">No alive member was serving, so all alive members share traffic evenly.</param>
/// <param name="Members">Each member's weight, ascending ids.</param>
public sealed record EndpointWeights(TimeSpan ComputedAt, bool Panic, IReadOnlyList<EndpointWeight> Members)
{
    /// <summary>The weight of member <paramref name="id"/>, or null.</summary>
    public EndpointWeight? Find(long id)
    {
        foreach (var member in Members)
        {
            if (member.Id == id)
            {
                return member;
            }
        }

        return null;
    }

    /// <summary>Members with weight 0.</summary>
    public int ZeroWeight => Members.Count(m => m.Weight == 0);

    /// <summary>
    /// Whether these weights are worth publishing over <paramref name="published"/> (the last weights put in the table,
    /// not merely the last computed, so slow drifts add up): true when there is none, when the members, the panic flag,
    /// a tier or whether a member weighs 0 differ, or when a weight moved by more than <paramref name="weightTolerance"/>.
    /// Latencies alone never make a difference.
    /// </summary>
    public bool DiffersFrom(EndpointWeights? published, int weightTolerance = 50)
    {
        if (published is null || published.Panic != Panic || published.Members.Count != Members.Count)
        {
            return true;
        }

        for (var i = 0; i < Members.Count; i++)
        {
            var (now, then) = (Members[i], published.Members[i]);
            if (now.Id != then.Id || now.Tier != then.Tier || (now.Weight == 0) != (then.Weight == 0)
                || Math.Abs(now.Weight - then.Weight) > weightTolerance)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The table to replicate: these weights with each member's application address.</summary>
    /// <param name="version">The table's version (e.g. the previous one + 1).</param>
    /// <param name="strategy">The cluster's strategy (<see cref="EndpointStrategies"/>).</param>
    /// <param name="appAddressOf">A member's application address (host:port), empty when not configured.</param>
    public EndpointTable ToTable(long version, string strategy, Func<long, string> appAddressOf) =>
        new(version, strategy, [.. Members.Select(m => new EndpointEntry(
            m.Id, appAddressOf(m.Id), m.Tier, m.Weight, (long)m.LatencyEwma.TotalMicroseconds))]);

    /// <summary>
    /// Weights to pass as <c>previous</c> on a new leader, which has no history of its own, from the replicated
    /// <paramref name="table"/>: members with a weight there are warm (no slow start), critical ones with weight 0 were ejected.
    /// </summary>
    public static EndpointWeights FromTable(EndpointTable table, TimeSpan now, WeightOptions options) =>
        new(now, Panic: false, [.. table.Entries.OrderBy(e => e.Id).Select(e => new EndpointWeight(
            e.Id,
            e.Tier,
            e.Weight,
            TimeSpan.FromMicroseconds(e.LatencyMicros),
            e.Weight == 0 ? EndpointState.Ejected : e.Tier == HealthTier.Critical ? EndpointState.Retained : EndpointState.Serving,
            e.Weight > 0 && e.Tier != HealthTier.Critical ? now - options.SlowStartWindow : null))]);
}
