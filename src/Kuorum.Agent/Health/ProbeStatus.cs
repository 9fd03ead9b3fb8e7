namespace Kuorum.Agent.Health;

/// <summary>A snapshot of a probe's state: what the agent reports to the leader and shows in status.</summary>
/// <param name="Tier">The application's tier.</param>
/// <param name="LatencyEwma">Exponentially weighted moving average of successful probes' latency; zero until one succeeded.</param>
/// <param name="ConsecutiveFailures">Failed probes in a row (zero after a success).</param>
/// <param name="ConsecutiveSuccesses">Successful probes in a row, slow ones included (zero after a failure).</param>
/// <param name="LastResult">The last result counted (after the initial delay), if any.</param>
/// <param name="TierChangedAt">When the tier last changed, on the caller's clock (the tracker's start when it never did).</param>
/// <param name="Counted">Results counted so far (those before the initial delay are not).</param>
public sealed record ProbeStatus(
    HealthTier Tier,
    TimeSpan LatencyEwma,
    int ConsecutiveFailures,
    int ConsecutiveSuccesses,
    ProbeResult? LastResult,
    TimeSpan TierChangedAt,
    long Counted);
