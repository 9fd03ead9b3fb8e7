namespace Kuorum.Agent.Health;

/// <summary>One endpoint's computed weight.</summary>
/// <param name="Id">Raft node id.</param>
/// <param name="Tier">The tier used: the reported one, or unknown when the report is missing or stale.</param>
/// <param name="Weight">Share of traffic, 0 (no traffic) to <see cref="WeightCalculator.MaxWeight"/>.</param>
/// <param name="LatencyEwma">The reported latency average used (zero when unknown or stale).</param>
/// <param name="State">Why it has this weight.</param>
/// <param name="ServingSince">
/// When it last started serving (became alive and not critical), on the leader's clock: the start of its slow start.
/// Null when not serving.
/// </param>
public sealed record EndpointWeight(long Id, HealthTier Tier, int Weight, TimeSpan LatencyEwma, EndpointState State, TimeSpan? ServingSince);
