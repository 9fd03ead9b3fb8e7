namespace Kuorum.Agent.Health;

/// <summary>The knobs of <see cref="WeightCalculator"/>; see its remarks for the formula.</summary>
public sealed record WeightOptions
{
    /// <summary>Tier factor of a warning endpoint, and of one whose tier is unknown (no recent report). Consul-like: reduced, not ejected.</summary>
    public double WarningFactor { get; init; } = 0.5;

    /// <summary>Lowest latency factor: the slowest endpoint keeps at least this share of a fast one's weight.</summary>
    public double MinLatencyFactor { get; init; } = 0.1;

    /// <summary>
    /// Added to every latency before comparing, so differences far below it (loopback jitter of tens of microseconds)
    /// do not move weights.
    /// </summary>
    public TimeSpan LatencyTolerance { get; init; } = TimeSpan.FromMilliseconds(0.5);

    /// <summary>Time over which a new or recovered endpoint ramps from <see cref="SlowStartInitialFactor"/> to full weight; zero turns slow start off.</summary>
    public TimeSpan SlowStartWindow { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Share of its weight an endpoint gets when it starts serving.</summary>
    public double SlowStartInitialFactor { get; init; } = 0.1;

    /// <summary>
    /// Fewer than this fraction of the members may have weight 0 at once (down ones included): at most
    /// ⌈n × fraction⌉ − 1 of n. The default 0.5 lets a minority go, as Raft does: 1 of 3, 2 of 5.
    /// </summary>
    public double MaxEjectedFraction { get; init; } = 0.5;

    /// <summary>Lowest weight of a serving endpoint, and the weight of a critical one the ejection cap retains.</summary>
    public int MinWeight { get; init; } = 10;

    /// <summary>A report older than this counts as missing: tier unknown, latency unknown.</summary>
    public TimeSpan ReportStaleAfter { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Checks every setting.</summary>
    /// <exception cref="ArgumentException">A setting is out of range; the message names it and what is allowed.</exception>
    public void Validate()
    {
        Require(WarningFactor is > 0 and <= 1, nameof(WarningFactor), $"is {WarningFactor}; it must be above 0 and at most 1");
        Require(MinLatencyFactor is > 0 and <= 1, nameof(MinLatencyFactor), $"is {MinLatencyFactor}; it must be above 0 and at most 1");
        Require(LatencyTolerance >= TimeSpan.Zero, nameof(LatencyTolerance), $"is {LatencyTolerance}; it must not be negative");
        Require(SlowStartWindow >= TimeSpan.Zero, nameof(SlowStartWindow), $"is {SlowStartWindow}; it must not be negative");
        Require(SlowStartInitialFactor is > 0 and <= 1, nameof(SlowStartInitialFactor), $"is {SlowStartInitialFactor}; it must be above 0 and at most 1");
        Require(MaxEjectedFraction is >= 0 and <= 1, nameof(MaxEjectedFraction), $"is {MaxEjectedFraction}; it must be between 0 and 1");
        Require(MinWeight is >= 1 and <= WeightCalculator.MaxWeight, nameof(MinWeight), $"is {MinWeight}; it must be in 1..{WeightCalculator.MaxWeight}");
        Require(ReportStaleAfter > TimeSpan.Zero, nameof(ReportStaleAfter), $"is {ReportStaleAfter}; it must be positive");
    }

    private static void Require(bool condition, string name, string problem)
    {
        if (!condition)
        {
            throw new ArgumentException($"{name} {problem}", name);
        }
    }
}
