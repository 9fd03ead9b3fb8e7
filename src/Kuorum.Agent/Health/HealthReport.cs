namespace Kuorum.Agent.Health;

/// <summary>What a member last told the leader about its application.</summary>
/// <param name="Tier">The member's probe tier.</param>
/// <param name="LatencyEwma">Its probe latency average (zero when unknown).</param>
/// <param name="ReportedAt">When the leader received the report, on the leader's own monotonic clock (the clock of the <c>now</c> given to <see cref="WeightCalculator.Compute"/>), never the member's.</param>
public readonly record struct HealthReport(HealthTier Tier, TimeSpan LatencyEwma, TimeSpan ReportedAt);
