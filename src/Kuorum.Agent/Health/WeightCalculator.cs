namespace Kuorum.Agent.Health;

/// <summary>
/// The leader's weighting of endpoints from Raft liveness and the members' health reports. Pure: the same inputs
/// always give the same weights; time comes in as <c>now</c> on the leader's monotonic clock.
/// </summary>
/// <remarks>
/// <para>For each member, in order of id:</para>
/// <list type="number">
/// <item>Not alive in Raft → 0 (<see cref="EndpointState.Down"/>).</item>
/// <item>Tier and latency come from its report unless the report is missing or older than
/// <see cref="WeightOptions.ReportStaleAfter"/>: then the tier is unknown and the latency unknown.</item>
/// <item>Panic: when members are alive but none is serving (all critical), every alive member gets
/// <see cref="MaxWeight"/> — traffic spreads evenly rather than going nowhere (YARP's <c>HealthyOrPanic</c>).</item>
/// <item>A serving member (alive, passing, warning or unknown) gets
/// 1000 × tier × latency × ramp, rounded, within [<see cref="WeightOptions.MinWeight"/>, 1000], where
/// tier = 1 for passing, <see cref="WeightOptions.WarningFactor"/> for warning and unknown;
/// latency = clamp((best + τ) / (own + τ), <see cref="WeightOptions.MinLatencyFactor"/>, 1), with best the lowest
/// known latency average among serving members and τ = <see cref="WeightOptions.LatencyTolerance"/> (1 when its
/// latency is unknown); ramp = slow start, rising linearly from <see cref="WeightOptions.SlowStartInitialFactor"/>
/// to 1 over <see cref="WeightOptions.SlowStartWindow"/> from the time it started serving (new, recovered from
/// critical, or back from down). At the first computation (no previous weights) everyone is warm.</item>
/// <item>A critical member is ejected (0) unless that makes more than ⌈n × <see cref="WeightOptions.MaxEjectedFraction"/>⌉ − 1
/// of the n members weigh 0 (down members count); the ones over the cap are retained at
/// <see cref="WeightOptions.MinWeight"/>. Members ejected in the previous computation are ejected first, then by id, so the
/// choice is stable.</item>
/// </list>
/// </remarks>
public static class WeightCalculator
{
    /// <summary>The weight of a fully healthy, fast, warm endpoint.</summary>
    public const int MaxWeight = 1000;

    /// <summary>Computes every member's weight.</summary>
    /// <param name="members">Every member of the configuration, with its Raft liveness.</param>
    /// <param name="reports">The latest report of each member (the leader's own included), by id.</param>
    /// <param name="now">The leader's monotonic time, on the clock of <see cref="HealthReport.ReportedAt"/>.</param>
    /// <param name="previous">The previous computation (slow start and ejection order), or null at the first.</param>
    /// <param name="options">The knobs.</param>
    /// <exception cref="ArgumentException">A member is listed twice, or an option is out of range.</exception>
    public static EndpointWeights Compute(
        IReadOnlyCollection<EndpointMember> members, IReadOnlyDictionary<long, HealthReport> reports, TimeSpan now, EndpointWeights? previous, WeightOptions options)
    {
        options.Validate();
        var ordered = members.OrderBy(m => m.Id).ToList();
        for (var i = 1; i < ordered.Count; i++)
        {
            if (ordered[i].Id == ordered[i - 1].Id)
            {
                throw new ArgumentException($"member {ordered[i].Id} is listed twice", nameof(members));
            }
        }

        var views = ordered.Select(m =>
        {
            var fresh = reports.TryGetValue(m.Id, out var report) && now - report.ReportedAt <= options.ReportStaleAfter;
            return new MemberView(m.Id, m.Alive, fresh ? report.Tier : HealthTier.Unknown, fresh && report.LatencyEwma > TimeSpan.Zero ? report.LatencyEwma : TimeSpan.Zero);
        }).ToList();

        var anyAlive = views.Any(v => v.Alive);
        var anyServing = views.Any(v => v.Serving);
        if (anyAlive && !anyServing)
        {
            return new EndpointWeights(now, Panic: true, [.. views.Select(v => v.Alive
                ? new EndpointWeight(v.Id, v.Tier, MaxWeight, v.Latency, EndpointState.Panic, null)
                : new EndpointWeight(v.Id, v.Tier, 0, v.Latency, EndpointState.Down, null))]);
        }

        var known = views.Where(v => v.Serving && v.Latency > TimeSpan.Zero).Select(v => v.Latency).ToList();
        var best = known.Count > 0 ? known.Min() : TimeSpan.Zero;
        var maxEjected = Math.Max(0, (int)Math.Ceiling(Math.Round(views.Count * options.MaxEjectedFraction, 9)) - 1);
        var room = Math.Max(0, maxEjected - views.Count(v => !v.Alive));
        var ejected = views.Where(v => v.Alive && v.Tier == HealthTier.Critical)
            .OrderBy(v => previous?.Find(v.Id)?.State == EndpointState.Ejected ? 0 : 1)
            .ThenBy(v => v.Id)
            .Take(room)
            .Select(v => v.Id)
            .ToHashSet();

        var weights = new List<EndpointWeight>(views.Count);
        foreach (var v in views)
        {
            if (!v.Alive)
            {
                weights.Add(new EndpointWeight(v.Id, v.Tier, 0, v.Latency, EndpointState.Down, null));
            }
            else if (v.Tier == HealthTier.Critical)
            {
                weights.Add(ejected.Contains(v.Id)
                    ? new EndpointWeight(v.Id, v.Tier, 0, v.Latency, EndpointState.Ejected, null)
                    : new EndpointWeight(v.Id, v.Tier, options.MinWeight, v.Latency, EndpointState.Retained, null));
            }
            else
            {
                var since = previous is null ? now - options.SlowStartWindow : previous.Find(v.Id)?.ServingSince ?? now;
                var factor = TierFactor(v.Tier, options) * LatencyFactor(v.Latency, best, options) * Ramp(now - since, options);
                var weight = Math.Clamp((int)Math.Round(MaxWeight * factor, MidpointRounding.AwayFromZero), options.MinWeight, MaxWeight);
                weights.Add(new EndpointWeight(v.Id, v.Tier, weight, v.Latency, EndpointState.Serving, since));
            }
        }

        return new EndpointWeights(now, Panic: false, weights);
    }

    /// <summary>The tier factor: passing 1; warning and unknown <see cref="WeightOptions.WarningFactor"/>; critical 0.</summary>
    public static double TierFactor(HealthTier tier, WeightOptions options) => tier switch
    {
        HealthTier.Passing => 1,
        HealthTier.Critical => 0,
        _ => options.WarningFactor,
    };

    /// <summary>The latency factor (best + τ) / (own + τ), clamped to [<see cref="WeightOptions.MinLatencyFactor"/>, 1]; 1 when either is unknown (zero).</summary>
    public static double LatencyFactor(TimeSpan latency, TimeSpan best, WeightOptions options)
    {
        if (latency <= TimeSpan.Zero || best <= TimeSpan.Zero)
        {
            return 1;
        }

        var tolerance = options.LatencyTolerance.Ticks;
        return Math.Clamp((double)(best.Ticks + tolerance) / (latency.Ticks + tolerance), options.MinLatencyFactor, 1);
    }

    /// <summary>The slow-start factor after serving for <paramref name="serving"/>.</summary>
    public static double Ramp(TimeSpan serving, WeightOptions options)
    {
        if (options.SlowStartWindow <= TimeSpan.Zero || serving >= options.SlowStartWindow)
        {
            return 1;
        }

        var progress = Math.Max(0, serving.Ticks) / (double)options.SlowStartWindow.Ticks;
        return options.SlowStartInitialFactor + ((1 - options.SlowStartInitialFactor) * progress);
    }

    private readonly record struct MemberView(long Id, bool Alive, HealthTier Tier, TimeSpan Latency)
    {
        public bool Serving => Alive && Tier != HealthTier.Critical;
    }
}
