using Kuorum.Agent.Health;

namespace Kuorum.Agent.Tests.Health;

/// <summary>The weighting maths: tiers, latency, staleness, slow start, the ejection cap and panic mode.</summary>
public sealed class WeightCalculatorTests
{
    private static readonly WeightOptions _options = new();
    private static readonly TimeSpan _now = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan _fast = TimeSpan.FromMilliseconds(1);

    private static EndpointMember[] Alive(params long[] ids) => [.. ids.Select(id => new EndpointMember(id, true))];

    private static HealthReport Report(HealthTier tier, TimeSpan? latency = null, TimeSpan? at = null) => new(tier, latency ?? _fast, at ?? _now);

    private static Dictionary<long, HealthReport> AllPassing(params long[] ids) => ids.ToDictionary(id => id, _ => Report(HealthTier.Passing));

    private static Dictionary<long, HealthReport> AllPassingAt(TimeSpan at, params long[] ids) => ids.ToDictionary(id => id, _ => Report(HealthTier.Passing, at: at));

    private static EndpointWeights Compute(
        IReadOnlyCollection<EndpointMember> members, IReadOnlyDictionary<long, HealthReport> reports, EndpointWeights? previous = null, TimeSpan? now = null, WeightOptions? options = null) =>
        WeightCalculator.Compute(members, reports, now ?? _now, previous, options ?? _options);

    private static int[] Weights(EndpointWeights weights) => [.. weights.Members.Select(m => m.Weight)];

    [Fact]
    public void AllPassingFastAndWarm_GetFullWeight_InIdOrder()
    {
        var weights = Compute([new(3, true), new(1, true), new(2, true)], AllPassing(1, 2, 3));
        Assert.Equal([1L, 2L, 3L], weights.Members.Select(m => m.Id));
        Assert.Equal([1000, 1000, 1000], Weights(weights));
        Assert.All(weights.Members, m => Assert.Equal(EndpointState.Serving, m.State));
        Assert.False(weights.Panic);
    }

    [Fact]
    public void Tiers_PassingFull_WarningAndUnknownHalved_CriticalEjected()
    {
        var reports = new Dictionary<long, HealthReport>
        {
            [1] = Report(HealthTier.Passing),
            [2] = Report(HealthTier.Warning),
            [3] = Report(HealthTier.Unknown),
            [5] = Report(HealthTier.Critical),
        };
        var weights = Compute(Alive(1, 2, 3, 4, 5), reports);
        Assert.Equal([1000, 500, 500, 500, 0], Weights(weights));
        Assert.Equal(HealthTier.Unknown, weights.Find(4)!.Tier);
        Assert.Equal(EndpointState.Ejected, weights.Find(5)!.State);
    }

    [Fact]
    public void AStaleReport_CountsAsUnknown_AndItsLatencyIsIgnored()
    {
        var reports = new Dictionary<long, HealthReport>
        {
            [1] = Report(HealthTier.Passing),
            [2] = Report(HealthTier.Passing, TimeSpan.FromMilliseconds(50), at: _now - TimeSpan.FromSeconds(5)),
            [3] = Report(HealthTier.Critical, at: _now - TimeSpan.FromSeconds(5.001)),
        };
        var weights = Compute(Alive(1, 2, 3), reports);
        Assert.Equal(HealthTier.Passing, weights.Find(2)!.Tier);
        Assert.Equal(TimeSpan.FromMilliseconds(50), weights.Find(2)!.LatencyEwma);
        Assert.Equal(HealthTier.Unknown, weights.Find(3)!.Tier);
        Assert.Equal(TimeSpan.Zero, weights.Find(3)!.LatencyEwma);
        Assert.Equal(500, weights.Find(3)!.Weight);
    }

    [Fact]
    public void Latency_ScalesByBestOverOwn_WithTolerance_ClampedAtTheFloor()
    {
        // factor = (best + 0.5 ms) / (own + 0.5 ms), at least 0.1.
        var reports = new Dictionary<long, HealthReport>
        {
            [1] = Report(HealthTier.Passing, TimeSpan.FromMilliseconds(1)),
            [2] = Report(HealthTier.Passing, TimeSpan.FromMilliseconds(10)),
            [3] = Report(HealthTier.Passing, TimeSpan.FromMilliseconds(100)),
            [4] = Report(HealthTier.Warning, TimeSpan.FromMilliseconds(10)),
            [5] = Report(HealthTier.Passing, TimeSpan.FromMilliseconds(1.03)),
            [6] = Report(HealthTier.Passing, TimeSpan.Zero),
        };
        var weights = Compute(Alive(1, 2, 3, 4, 5, 6), reports);
        Assert.Equal([1000, 143, 100, 71, 980, 1000], Weights(weights));
        Assert.Equal(1.5 / 10.5, WeightCalculator.LatencyFactor(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(1), _options), 9);
    }

    [Fact]
    public void Latency_OfACriticalMember_DoesNotSetTheBest()
    {
        var reports = new Dictionary<long, HealthReport>
        {
            [1] = Report(HealthTier.Critical, TimeSpan.FromMilliseconds(0.1)),
            [2] = Report(HealthTier.Passing, TimeSpan.FromMilliseconds(2)),
            [3] = Report(HealthTier.Passing, TimeSpan.FromMilliseconds(2)),
        };
        Assert.Equal([0, 1000, 1000], Weights(Compute(Alive(1, 2, 3), reports)));
    }

    [Fact]
    public void SlowStart_ARecoveredMember_RampsFromTenPercentToFullOverTheWindow()
    {
        var members = Alive(1, 2, 3);
        var critical = AllPassing(1, 2, 3);
        critical[3] = Report(HealthTier.Critical);
        var before = Compute(members, critical, now: _now - TimeSpan.FromSeconds(1));
        Assert.Equal(0, before.Find(3)!.Weight);

        var start = Compute(members, AllPassing(1, 2, 3), before, _now);
        Assert.Equal([1000, 1000, 100], Weights(start));
        Assert.Equal(_now, start.Find(3)!.ServingSince);

        var half = Compute(members, AllPassingAt(_now + TimeSpan.FromSeconds(5), 1, 2, 3), start, _now + TimeSpan.FromSeconds(5));
        Assert.Equal([1000, 1000, 550], Weights(half));
        var full = Compute(members, AllPassingAt(_now + TimeSpan.FromSeconds(10), 1, 2, 3), half, _now + TimeSpan.FromSeconds(10));
        Assert.Equal([1000, 1000, 1000], Weights(full));
        Assert.Equal(_now, full.Find(3)!.ServingSince);
    }

    [Fact]
    public void SlowStart_ANewOrReturningMember_Ramps_ButTheFirstComputationIsWarm()
    {
        var first = Compute(Alive(1, 2), AllPassing(1, 2));
        Assert.Equal([1000, 1000], Weights(first));

        var grown = Compute(Alive(1, 2, 3), AllPassing(1, 2, 3), first, _now + TimeSpan.FromSeconds(1));
        Assert.Equal([1000, 1000, 100], Weights(grown));

        var down = Compute([new(1, true), new(2, false), new(3, true)], AllPassing(1, 2, 3), grown, _now + TimeSpan.FromSeconds(2));
        Assert.Equal(EndpointState.Down, down.Find(2)!.State);
        Assert.Equal(0, down.Find(2)!.Weight);
        var back = Compute(Alive(1, 2, 3), AllPassing(1, 2, 3), down, _now + TimeSpan.FromSeconds(3));
        Assert.Equal([1000, 100, 280], Weights(back));
    }

    [Fact]
    public void SlowStart_Off_GivesFullWeightAtOnce()
    {
        var first = Compute(Alive(1), AllPassing(1));
        var grown = Compute(Alive(1, 2), AllPassing(1, 2), first, options: _options with { SlowStartWindow = TimeSpan.Zero });
        Assert.Equal([1000, 1000], Weights(grown));
    }

    [Fact]
    public void EjectionCap_AMinorityAtMost_TheRestAreRetainedAtTheMinimumWeight()
    {
        var reports = AllPassing(1, 2, 3, 4, 5);
        reports[1] = reports[2] = reports[3] = Report(HealthTier.Critical);
        var weights = Compute(Alive(1, 2, 3, 4, 5), reports);
        Assert.Equal([0, 0, 10, 1000, 1000], Weights(weights));
        Assert.Equal([EndpointState.Ejected, EndpointState.Ejected, EndpointState.Retained], weights.Members.Take(3).Select(m => m.State));
        Assert.Equal(2, weights.ZeroWeight);
    }

    [Fact]
    public void EjectionCap_KeepsEjectingThoseAlreadyEjected()
    {
        var reports = AllPassing(1, 2, 3, 4, 5);
        reports[4] = reports[5] = Report(HealthTier.Critical);
        var before = Compute(Alive(1, 2, 3, 4, 5), reports);
        Assert.Equal([1000, 1000, 1000, 0, 0], Weights(before));

        reports[1] = Report(HealthTier.Critical);
        var after = Compute(Alive(1, 2, 3, 4, 5), reports, before, _now + TimeSpan.FromSeconds(1));
        Assert.Equal([10, 1000, 1000, 0, 0], Weights(after));
    }

    [Fact]
    public void EjectionCap_DownMembersCount()
    {
        var reports = AllPassing(1, 2, 3);
        reports[3] = Report(HealthTier.Critical);
        var weights = Compute([new(1, true), new(2, false), new(3, true)], reports);
        Assert.Equal([1000, 0, 10], Weights(weights));
        Assert.Equal([EndpointState.Serving, EndpointState.Down, EndpointState.Retained], weights.Members.Select(m => m.State));
    }

    [Theory]
    [InlineData(1, 0.5, 0)]
    [InlineData(2, 0.5, 0)]
    [InlineData(3, 0.5, 1)]
    [InlineData(4, 0.5, 1)]
    [InlineData(5, 0.5, 2)]
    [InlineData(10, 0.3, 2)]
    [InlineData(3, 1.0, 2)]
    [InlineData(5, 0.0, 0)]
    public void EjectionCap_IsCeilingOfNTimesFractionMinusOne(int members, double fraction, int expectedEjected)
    {
        var ids = Enumerable.Range(1, members).Select(i => (long)i).ToArray();
        var reports = ids.ToDictionary(id => id, id => Report(id == 1 ? HealthTier.Passing : HealthTier.Critical));
        var weights = Compute(Alive(ids), reports, options: _options with { MaxEjectedFraction = fraction });
        Assert.Equal(expectedEjected, weights.ZeroWeight);
    }

    [Fact]
    public void Panic_AllAliveCritical_AllAliveGetEqualWeight_DownOnesStayAtZero()
    {
        var reports = new Dictionary<long, HealthReport>
        {
            [1] = Report(HealthTier.Critical),
            [2] = Report(HealthTier.Critical),
            [3] = Report(HealthTier.Passing),
        };
        var weights = Compute([new(1, true), new(2, true), new(3, false)], reports);
        Assert.True(weights.Panic);
        Assert.Equal([1000, 1000, 0], Weights(weights));
        Assert.Equal([EndpointState.Panic, EndpointState.Panic, EndpointState.Down], weights.Members.Select(m => m.State));
    }

    [Fact]
    public void Panic_Ends_WhenOneRecovers_WhichSlowStarts()
    {
        var reports = new Dictionary<long, HealthReport> { [1] = Report(HealthTier.Critical), [2] = Report(HealthTier.Critical), [3] = Report(HealthTier.Critical) };
        var panic = Compute(Alive(1, 2, 3), reports);
        Assert.True(panic.Panic);

        reports[2] = Report(HealthTier.Passing);
        var recovered = Compute(Alive(1, 2, 3), reports, panic);
        Assert.False(recovered.Panic);
        Assert.Equal([0, 100, 10], Weights(recovered));
    }

    [Fact]
    public void MinWeight_FloorsAServingMember()
    {
        var reports = new Dictionary<long, HealthReport>
        {
            [1] = Report(HealthTier.Passing, TimeSpan.FromMilliseconds(1)),
            [2] = Report(HealthTier.Warning, TimeSpan.FromSeconds(1)),
        };
        var first = Compute(Alive(1), reports);
        var weights = Compute(Alive(1, 2), reports, first);
        Assert.Equal(10, weights.Find(2)!.Weight);
        Assert.Equal(EndpointState.Serving, weights.Find(2)!.State);
    }

    [Fact]
    public void AMemberListedTwice_IsRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => Compute(Alive(1, 2, 1), AllPassing(1, 2)));
        Assert.Contains("member 1 is listed twice", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(nameof(WeightOptions.WarningFactor))]
    [InlineData(nameof(WeightOptions.MinLatencyFactor))]
    [InlineData(nameof(WeightOptions.MaxEjectedFraction))]
    [InlineData(nameof(WeightOptions.MinWeight))]
    [InlineData(nameof(WeightOptions.ReportStaleAfter))]
    [InlineData(nameof(WeightOptions.SlowStartInitialFactor))]
    public void Options_OutOfRange_AreRefusedByName(string name)
    {
        var options = name switch
        {
            nameof(WeightOptions.WarningFactor) => _options with { WarningFactor = 0 },
            nameof(WeightOptions.MinLatencyFactor) => _options with { MinLatencyFactor = 1.5 },
            nameof(WeightOptions.MaxEjectedFraction) => _options with { MaxEjectedFraction = -0.1 },
            nameof(WeightOptions.MinWeight) => _options with { MinWeight = 0 },
            nameof(WeightOptions.ReportStaleAfter) => _options with { ReportStaleAfter = TimeSpan.Zero },
            _ => _options with { SlowStartInitialFactor = 0 },
        };
        var error = Assert.Throws<ArgumentException>(() => Compute(Alive(1), AllPassing(1), options: options));
        Assert.Equal(name, error.ParamName);
    }

    [Fact]
    public void DiffersFrom_IgnoresSmallMoves_ButNotZeroCrossingsTiersOrMembers()
    {
        EndpointWeights Of(params (long Id, HealthTier Tier, int Weight)[] members) =>
            new(_now, false, [.. members.Select(m => new EndpointWeight(m.Id, m.Tier, m.Weight, _fast, EndpointState.Serving, _now))]);

        var published = Of((1, HealthTier.Passing, 1000), (2, HealthTier.Passing, 500));
        Assert.True(published.DiffersFrom(null));
        Assert.False(Of((1, HealthTier.Passing, 1000), (2, HealthTier.Passing, 550)).DiffersFrom(published));
        Assert.True(Of((1, HealthTier.Passing, 1000), (2, HealthTier.Passing, 551)).DiffersFrom(published));
        Assert.True(Of((1, HealthTier.Passing, 1000), (2, HealthTier.Warning, 500)).DiffersFrom(published));
        Assert.True(Of((1, HealthTier.Passing, 1000)).DiffersFrom(published));
        Assert.True(Of((1, HealthTier.Passing, 1000), (3, HealthTier.Passing, 500)).DiffersFrom(published));

        var small = Of((1, HealthTier.Passing, 20));
        Assert.True(Of((1, HealthTier.Passing, 0)).DiffersFrom(small));
        Assert.True((published with { Panic = true }).DiffersFrom(published));
    }

    [Fact]
    public void ToTable_AndFromTable_ANewLeaderKeepsWarmMembersWarm()
    {
        var reports = AllPassing(1, 2, 3);
        reports[2] = Report(HealthTier.Warning, TimeSpan.FromMilliseconds(10));
        reports[3] = Report(HealthTier.Critical);
        var weights = Compute(Alive(1, 2, 3), reports);
        var table = weights.ToTable(7, EndpointStrategies.Weighted, id => $"10.0.0.{id}:8080");
        Assert.Equal(
            [
                new EndpointEntry(1, "10.0.0.1:8080", HealthTier.Passing, 1000, 1000),
                new EndpointEntry(2, "10.0.0.2:8080", HealthTier.Warning, 71, 10_000),
                new EndpointEntry(3, "10.0.0.3:8080", HealthTier.Critical, 0, 1000),
            ],
            table.Entries);

        var later = _now + TimeSpan.FromHours(1);
        var seeded = EndpointWeights.FromTable(EndpointTable.Decode(table.Encode()), later, _options);
        reports = AllPassingAt(later, 1, 2, 3);
        var next = Compute(Alive(1, 2, 3), reports, seeded, later);
        Assert.Equal([1000, 1000, 100], Weights(next));
    }

    [Fact]
    public void Compute_IsDeterministic()
    {
        var reports = new Dictionary<long, HealthReport>
        {
            [1] = Report(HealthTier.Passing, TimeSpan.FromMilliseconds(1.7)),
            [2] = Report(HealthTier.Warning, TimeSpan.FromMilliseconds(3.1)),
            [3] = Report(HealthTier.Critical),
        };
        var a = Compute(Alive(3, 2, 1), reports).ToTable(1, EndpointStrategies.Weighted, _ => "");
        var b = Compute(Alive(1, 2, 3), new Dictionary<long, HealthReport>(reports.Reverse())).ToTable(1, EndpointStrategies.Weighted, _ => "");
        Assert.Equal(a.Encode(), b.Encode());
    }
}
