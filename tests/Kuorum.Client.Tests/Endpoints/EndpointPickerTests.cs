using Kuorum.Client.Tests.Support;

namespace Kuorum.Client.Tests.Endpoints;

[Collection(RunAlone.Name)]
public sealed class EndpointPickerTests
{
    private const int Picks = 100_000;
    private long _version;

    [Theory]
    [InlineData("leader-only", typeof(LeaderOnlyEndpointPicker))]
    [InlineData("random", typeof(RandomEndpointPicker))]
    [InlineData("round-robin", typeof(RoundRobinEndpointPicker))]
    [InlineData("weighted", typeof(WeightedEndpointPicker))]
    [InlineData("least-request", typeof(LeastRequestEndpointPicker))]
    [InlineData(" Least-Request ", typeof(LeastRequestEndpointPicker))]
    public void Create_KnownStrategy_ReturnsItsPicker(string strategy, Type expected)
    {
        var picker = EndpointPicker.Create(strategy);

        Assert.IsType(expected, picker);
        Assert.Equal(strategy.Trim().ToLowerInvariant(), picker.Strategy);
        Assert.Null(picker.Snapshot);
        Assert.Null(picker.Pick());
        Assert.Null(picker.StartRequest());
    }

    [Theory]
    [InlineData("")]
    [InlineData("fastest")]
    public void Create_UnknownStrategy_ThrowsNamingTheKnownOnes(string strategy)
    {
        var e = Assert.Throws<ArgumentException>(() => EndpointPicker.Create(strategy));

        Assert.Contains("least-request", e.Message, StringComparison.Ordinal);
        Assert.False(EndpointStrategies.IsKnown(strategy));
    }

    [Fact]
    public void LeaderOnly_AnyWeights_AlwaysPicksTheLeader()
    {
        var picker = Fed("leader-only", Member(1, 1000), Member(2, 0, MemberRole.Leader), Member(3, 500));

        var counts = Distribution.Count(10_000, () => picker.Pick()!.Id);

        Assert.Equal(new Dictionary<long, int> { [2] = 10_000 }, counts);
    }

    [Fact]
    public void LeaderOnly_NoLeaderWithAppAddress_PicksNothing()
    {
        var picker = Fed("leader-only", Member(1, 1000), Member(2, 1000, MemberRole.Leader, appAddress: string.Empty));

        Assert.Null(picker.Pick());
        Assert.Null(picker.StartRequest());
    }

    [Fact]
    public void Random_Weights_UniformOverThoseAboveZero()
    {
        var picker = Fed("random", Member(1, 100), Member(2, 500), Member(3, 1000), Member(4, 0));

        var counts = Distribution.Count(Picks, () => picker.Pick()!.Id);

        Distribution.AssertShares(counts, new Dictionary<long, double> { [1] = 1 / 3.0, [2] = 1 / 3.0, [3] = 1 / 3.0, [4] = 0 }, Picks);
    }

    [Fact]
    public void RoundRobin_Weights_EachAboveZeroInTurn()
    {
        var picker = Fed("round-robin", Member(1, 100), Member(2, 0), Member(3, 1000), Member(4, 700));

        var sequence = Enumerable.Range(0, 9).Select(_ => picker.Pick()!.Id).ToArray();
        var counts = Distribution.Count(99_999, () => picker.Pick()!.Id);

        Assert.Equal(sequence[..3], sequence[3..6]);
        Assert.Equal(sequence[..3], sequence[6..]);
        Assert.Equal([1L, 3, 4], sequence[..3].Order());
        Assert.Equal(new Dictionary<long, int> { [1] = 33_333, [3] = 33_333, [4] = 33_333 }, counts);
    }

    [Fact]
    public void Weighted_NginxExample_SmoothSequence()
    {
        // nginx's own example: weights 5, 1, 1 give a a b a c a a.
        var picker = Fed("weighted", Member(1, 5), Member(2, 1), Member(3, 1));

        var sequence = Enumerable.Range(0, 14).Select(_ => picker.Pick()!.Id).ToArray();

        Assert.Equal([1L, 1, 2, 1, 3, 1, 1, 1, 1, 2, 1, 3, 1, 1], sequence);
    }

    [Fact]
    public void Weighted_FullCycles_ExactRatios()
    {
        int[] weights = [500, 300, 150, 49, 1, 0];
        var picker = Fed("weighted", weights.Select((w, i) => Member(i + 1, w)).ToArray());
        var cycle = weights.Sum();

        // Every window of one full cycle holds each endpoint exactly weight times, wherever it starts.
        picker.Pick();
        var counts = Distribution.Count(100 * cycle, () => picker.Pick()!.Id);

        Assert.Equal(
            weights.Select((w, i) => (Id: (long)(i + 1), Weight: w)).Where(e => e.Weight > 0).ToDictionary(e => e.Id, e => 100 * e.Weight),
            counts);
    }

    [Fact]
    public void LeastRequest_NothingInFlight_SharesFollowTheWeights()
    {
        var picker = Fed("least-request", Member(1, 600), Member(2, 300), Member(3, 100), Member(4, 0));

        var counts = Distribution.Count(Picks, () =>
        {
            using var lease = picker.StartRequest()!;
            return lease.Endpoint.Id;
        });

        Distribution.AssertShares(counts, new Dictionary<long, double> { [1] = 0.6, [2] = 0.3, [3] = 0.1, [4] = 0 }, Picks);
    }

    [Fact]
    public void LeastRequest_InFlightCountsDiffer_PrefersTheLessLoaded()
    {
        var picker = Fed("least-request", Member(1, 500));
        var held = Enumerable.Range(0, 5).Select(_ => picker.StartRequest()!).ToList();
        Assert.All(held, lease => Assert.Equal(1, lease.Endpoint.Id));

        // Member 1 keeps its 5 in-flight requests into the new table, where everyone has the same weight.
        picker.Update(Table("least-request", Member(1, 500), Member(2, 500), Member(3, 500)));
        var counts = Distribution.Count(Picks, () => picker.Pick()!.Id);

        Assert.Equal(5, picker.InFlight(Address(1)));
        Distribution.AssertShares(counts, new Dictionary<long, double> { [1] = 0, [2] = 0.5, [3] = 0.5 }, Picks);
        held.ForEach(lease => lease.Dispose());
        Assert.Equal(0, picker.InFlight(Address(1)));
    }

    [Fact]
    public void LeastRequest_ComparesInFlightPerUnitOfWeight()
    {
        // Member 1: 3 in flight at weight 1000 (0.003 each); member 2: 1 in flight at weight 100 (0.01).
        var picker = Fed("least-request", Member(1, 1000));
        var heavy = Enumerable.Range(0, 3).Select(_ => picker.StartRequest()!).ToList();
        picker.Update(Table("least-request", Member(2, 100)));
        using var light = picker.StartRequest()!;
        picker.Update(Table("least-request", Member(1, 1000), Member(2, 100)));

        var counts = Distribution.Count(10_000, () => picker.Pick()!.Id);

        Assert.Equal(new Dictionary<long, int> { [1] = 10_000 }, counts);
        heavy.ForEach(lease => lease.Dispose());
    }

    [Fact]
    public void LeastRequest_OneEndpointTenTimesSlower_ItGetsFarLessThanItsThird()
    {
        // One request starts per step; endpoint 1's requests last 40 steps, the others' 4. Round-robin would give
        // endpoint 1 a third; least-request keeps in-flight counts level, which leaves it about one in twenty.
        var picker = Fed("least-request", Member(1, 500), Member(2, 500), Member(3, 500));
        var open = new List<(EndpointLease Lease, int DueAt)>();
        var counts = new Dictionary<long, int>();
        for (var step = 0; step < 10_000; step++)
        {
            foreach (var done in open.Where(o => o.DueAt <= step).ToList())
            {
                done.Lease.Dispose();
                open.Remove(done);
            }

            var lease = picker.StartRequest()!;
            counts[lease.Endpoint.Id] = counts.GetValueOrDefault(lease.Endpoint.Id) + 1;
            open.Add((lease, step + (lease.Endpoint.Id == 1 ? 40 : 4)));
        }

        Assert.True(counts[1] < 10_000 / 10, $"slow endpoint 1 got {counts[1]} of 10,000 (the others {counts[2]} and {counts[3]})");
        Assert.True(Math.Abs(counts[2] - counts[3]) < 10_000 / 10, $"the fast endpoints got {counts[2]} and {counts[3]}");
    }

    [Theory]
    [InlineData("random")]
    [InlineData("round-robin")]
    [InlineData("weighted")]
    [InlineData("least-request")]
    public void EveryWeightZero_Panic_PicksAmongAllEvenly(string strategy)
    {
        var picker = Fed(strategy, Member(1, 0), Member(2, 0), Member(3, 0), Member(4, 0, appAddress: string.Empty));

        var counts = Distribution.Count(30_000, () => picker.Pick()!.Id);

        Distribution.AssertShares(counts, new Dictionary<long, double> { [1] = 1 / 3.0, [2] = 1 / 3.0, [3] = 1 / 3.0 }, 30_000);
    }

    [Theory]
    [InlineData("random")]
    [InlineData("round-robin")]
    [InlineData("weighted")]
    [InlineData("least-request")]
    public void MembersWithoutAppAddress_NeverPicked(string strategy)
    {
        var picker = Fed(strategy, Member(1, 1000, appAddress: string.Empty), Member(2, 10));

        var counts = Distribution.Count(1_000, () => picker.Pick()!.Id);

        Assert.Equal(new Dictionary<long, int> { [2] = 1_000 }, counts);
        Assert.Null(Fed(strategy, Member(1, 1000, appAddress: string.Empty)).Pick());
    }

    [Fact]
    public void EndpointLease_DisposedTwice_CountsOnce()
    {
        var picker = Fed("round-robin", Member(1, 1));
        var first = picker.StartRequest()!;
        using var second = picker.StartRequest()!;

        first.Dispose();
        first.Dispose();

        Assert.Equal(1, picker.InFlight(Address(1)));
    }

    [Theory]
    [InlineData("random")]
    [InlineData("round-robin")]
    [InlineData("weighted")]
    [InlineData("least-request")]
    public async Task Update_UnderConcurrentPicks_EveryPickFromOneWholeTable(string strategy)
    {
        // Table A lists members 1 and 2, table B members 3, 4 and 5: a pick that mixed one table's choice with the
        // other's members would pick out of range or return a member of the wrong table.
        var tableA = new[] { Member(1, 300), Member(2, 700) };
        var tableB = new[] { Member(3, 1000), Member(4, 1), Member(5, 10) };
        var picker = Fed(strategy, tableA);
        var swapper = new Task(() =>
        {
            for (var swap = 0; swap <= 2_000; swap++)
            {
                picker.Update(Table(strategy, swap % 2 == 0 ? tableB : tableA));
            }
        }, TaskCreationOptions.LongRunning);
        var pickers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            var seen = new HashSet<long>();
            var picks = 0;
            while (!swapper.IsCompleted || picks < 1_000)
            {
                using var lease = picker.StartRequest();
                Assert.NotNull(lease);
                seen.Add(lease.Endpoint.Id);
                picks++;
            }

            return (seen, picks);
        })).ToArray();

        swapper.Start();
        await swapper;
        var results = await Task.WhenAll(pickers);

        Assert.All(results, r => Assert.Subset(new HashSet<long> { 1, 2, 3, 4, 5 }, r.seen));
        Assert.All(new[] { 3, 4, 5 }, id => Assert.Equal(0, picker.InFlight(Address(id))));
        Assert.Equal([3L, 4, 5], picker.Snapshot!.Members.Select(m => m.Id));
        Assert.All(Enumerable.Range(0, 100), _ => Assert.Contains(picker.Pick()!.Id, new[] { 3L, 4, 5 }));
    }

    [Fact]
    public async Task Weighted_ConcurrentPicks_StillExactOverFullCycles()
    {
        var picker = Fed("weighted", Member(1, 7), Member(2, 2), Member(3, 1));
        var counts = new int[4];

        // 8 threads × 1,250 picks = 1,000 whole cycles of 10 picks.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 1_250; i++)
            {
                Interlocked.Increment(ref counts[picker.Pick()!.Id]);
            }
        })));

        Assert.Equal([0, 7_000, 2_000, 1_000], counts);
    }

    [Fact]
    public void Update_SameAddressAcrossVersions_InFlightCarriedOver()
    {
        var picker = Fed("least-request", Member(1, 10));
        var lease = picker.StartRequest()!;

        picker.Update(Table("least-request", Member(1, 20), Member(2, 10)));
        Assert.Equal(1, picker.InFlight(Address(1)));
        lease.Dispose();

        Assert.Equal(0, picker.InFlight(Address(1)));
        Assert.Equal(20, picker.Snapshot!.Members[0].Weight);
    }

    private static string Address(long id) => $"10.0.1.{id}:8080";

    private static EndpointInfo Member(long id, int weight, MemberRole role = MemberRole.Follower, string? appAddress = null) => new()
    {
        Id = id,
        Address = $"10.0.0.{id}:7400",
        AppAddress = appAddress ?? Address(id),
        Weight = weight,
        Role = role,
        Health = weight > 0 ? EndpointHealth.Passing : EndpointHealth.Critical,
    };

    private EndpointSnapshot Table(string strategy, params EndpointInfo[] members) => new(++_version, strategy, members);

    private EndpointPicker Fed(string strategy, params EndpointInfo[] members)
    {
        var picker = EndpointPicker.Create(strategy);
        picker.Update(Table(strategy, members));
        return picker;
    }
}
