namespace Kuorum.Agent.Health;

/// <summary>
/// Turns probe results into a <see cref="HealthTier"/>. Pure state: it never reads a clock; the caller passes
/// <c>now</c> (any monotonic time, e.g. elapsed since start) with each result. Not thread-safe.
/// </summary>
/// <remarks>
/// <para>Each counted result is <em>good</em> (succeeded within the slow threshold), <em>slow</em> (succeeded above it)
/// or <em>failed</em> (error, unhealthy answer or timeout). Results before start + initial delay are ignored. Rules,
/// with S = success threshold, F = failure threshold and R = <see cref="ProbeSettings.RecoveryThreshold"/> = max(S, F):</para>
/// <list type="bullet">
/// <item>F failures in a row → critical, from any tier.</item>
/// <item>A failure short of F, or a slow result, takes passing (or unknown) to warning.</item>
/// <item>Unknown (nothing counted yet, as Kubernetes readiness at start) → passing after S successes in a row, all good.</item>
/// <item>Critical → warning after S successes in a row (slow ones count); never straight to passing.</item>
/// <item>Warning → passing after R good results in a row.</item>
/// </list>
/// <para>The hysteresis is in the last two rules: an application that fails now and then, or is slow now and then,
/// stays in warning instead of flapping between passing and warning, and one leaving critical passes through warning.</para>
/// <para>Latency: an exponentially weighted moving average of successful probes' latency with
/// <see cref="LatencyAlpha"/> = 0.3 (the newest sample weighs 30%, one from five probes ago about 7%); the first
/// success seeds it. Failures do not move it: their latency says how fast the application refused, not how fast it works.</para>
/// </remarks>
public sealed class ProbeTracker
{
    /// <summary>Weight of the newest sample in the latency average.</summary>
    public const double LatencyAlpha = 0.3;

    private readonly ProbeSettings _settings;
    private readonly TimeSpan _countFrom;
    private int _consecutiveGood;

    /// <summary>A tracker whose initial delay runs from <paramref name="startedAt"/>.</summary>
    /// <remarks>With <see cref="ProbeKind.None"/> the application is passing from the start.</remarks>
    public ProbeTracker(ProbeSettings settings, TimeSpan startedAt)
    {
        settings.Validate();
        _settings = settings;
        _countFrom = startedAt + settings.InitialDelay;
        TierChangedAt = startedAt;
        Tier = settings.Kind == ProbeKind.None ? HealthTier.Passing : HealthTier.Unknown;
    }

    /// <summary>The application's tier.</summary>
    public HealthTier Tier { get; private set; }

    /// <summary>Moving average of successful probes' latency (see the remarks); zero until a probe succeeded.</summary>
    public TimeSpan LatencyEwma { get; private set; }

    /// <summary>Failed results in a row.</summary>
    public int ConsecutiveFailures { get; private set; }

    /// <summary>Successful results in a row, slow ones included.</summary>
    public int ConsecutiveSuccesses { get; private set; }

    /// <summary>Whether the last call to <see cref="Record"/> changed <see cref="Tier"/>.</summary>
    public bool Changed { get; private set; }

    /// <summary>When the tier last changed.</summary>
    public TimeSpan TierChangedAt { get; private set; }

    /// <summary>The last result counted.</summary>
    public ProbeResult? LastResult { get; private set; }

    /// <summary>Results counted (not ignored for the initial delay).</summary>
    public long Counted { get; private set; }

    /// <summary>Counts a result obtained at <paramref name="now"/>; returns whether the tier changed (also in <see cref="Changed"/>).</summary>
    public bool Record(ProbeResult result, TimeSpan now)
    {
        Changed = false;
        if (now < _countFrom)
        {
            return false;
        }

        Counted++;
        LastResult = result;
        var next = result.Success ? Succeeded(result.Latency) : Failed();
        if (next != Tier)
        {
            Tier = next;
            TierChangedAt = now;
            Changed = true;
        }

        return Changed;
    }

    /// <summary>The state as an immutable snapshot.</summary>
    public ProbeStatus Snapshot() => new(Tier, LatencyEwma, ConsecutiveFailures, ConsecutiveSuccesses, LastResult, TierChangedAt, Counted);

    private HealthTier Failed()
    {
        ConsecutiveFailures++;
        ConsecutiveSuccesses = 0;
        _consecutiveGood = 0;
        return ConsecutiveFailures >= _settings.FailureThreshold ? HealthTier.Critical
            : Tier == HealthTier.Critical ? HealthTier.Critical
            : HealthTier.Warning;
    }

    private HealthTier Succeeded(TimeSpan latency)
    {
        ConsecutiveFailures = 0;
        ConsecutiveSuccesses++;
        LatencyEwma = LatencyEwma == TimeSpan.Zero
            ? latency
            : TimeSpan.FromTicks((long)Math.Round((LatencyAlpha * latency.Ticks) + ((1 - LatencyAlpha) * LatencyEwma.Ticks)));
        var slow = _settings.SlowThreshold > TimeSpan.Zero && latency > _settings.SlowThreshold;
        _consecutiveGood = slow ? 0 : _consecutiveGood + 1;
        return Tier switch
        {
            HealthTier.Critical => ConsecutiveSuccesses >= _settings.SuccessThreshold ? HealthTier.Warning : HealthTier.Critical,
            HealthTier.Unknown => slow ? HealthTier.Warning
                : _consecutiveGood >= _settings.SuccessThreshold ? HealthTier.Passing
                : HealthTier.Unknown,
            HealthTier.Passing => slow ? HealthTier.Warning : HealthTier.Passing,
            _ => _consecutiveGood >= _settings.RecoveryThreshold ? HealthTier.Passing : HealthTier.Warning,
        };
    }
}
