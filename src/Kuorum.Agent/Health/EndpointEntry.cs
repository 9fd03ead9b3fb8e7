namespace Kuorum.Agent.Health;

/// <summary>One endpoint of the replicated table.</summary>
/// <param name="Id">Raft node id (1 or more).</param>
/// <param name="AppAddress">Where the member's application serves its clients (host:port), empty when not configured.</param>
/// <param name="Tier">Its health tier.</param>
/// <param name="Weight">Its weight, 0..<see cref="WeightCalculator.MaxWeight"/>.</param>
/// <param name="LatencyMicros">Its probe latency average in microseconds, 0 when unknown.</param>
public readonly record struct EndpointEntry(long Id, string AppAddress, HealthTier Tier, int Weight, long LatencyMicros);
