using Grpc.Core;
using Kuorum.Client.Tests.Support;

namespace Kuorum.Client.Tests.Leadership;

public sealed class LeadershipWatcherTests : SidecarTest
{
    [Fact]
    public async Task WatchLeadership_LocalLeader_ReportsLeaderTermAndIsLeader()
    {
        await using var watcher = Client.WatchLeadership();

        var state = await Eventually.WithinAsync(watcher.WaitForLeaderAsync(), "a leader");

        Assert.Equal(new LeadershipState(1, "127.0.0.1:7401", 1, IsLocal: true, LocalId: 1), state);
        Assert.True(watcher.IsLeader);
        Assert.Equal(1, watcher.Term);
        Assert.True(watcher.IsConnected);
    }

    [Fact]
    public async Task WatchLeadership_LeaderChanges_RaisesEventsAndStreamsStatesInOrder()
    {
        await using var watcher = Client.WatchLeadership();
        using var stop = new CancellationTokenSource(Eventually.DefaultTimeout);
        await using var states = watcher.WatchAsync(stop.Token).GetAsyncEnumerator(stop.Token);
        Assert.True(await states.MoveNextAsync());
        Assert.Equal((1L, 1L, true), (states.Current.LeaderId, states.Current.Term, states.Current.IsLocal));
        var events = new List<LeadershipChangedEventArgs>();
        watcher.Changed += (_, e) =>
        {
            lock (events)
            {
                events.Add(e);
            }
        };

        Cluster.Leadership.Set(leaderId: 2, term: 2);
        Cluster.Leadership.Set(leaderId: 1, term: 3);

        Assert.True(await states.MoveNextAsync());
        Assert.Equal((2L, 2L, false), (states.Current.LeaderId, states.Current.Term, states.Current.IsLocal));
        Assert.True(await states.MoveNextAsync());
        Assert.Equal((1L, 3L, true), (states.Current.LeaderId, states.Current.Term, states.Current.IsLocal));
        await Eventually.HoldsAsync(
            () =>
            {
                lock (events)
                {
                    return events.Count == 2;
                }
            },
            "both events were raised");
        lock (events)
        {
            Assert.Equal([(1L, 2L), (2L, 1L)], events.Select(e => (e.Previous.LeaderId, e.Current.LeaderId)));
            Assert.Equal([2L, 3L], events.Select(e => e.Current.Term));
        }
    }

    [Fact]
    public async Task WatchLeadership_StreamBroken_ReportsNoLeaderThenReconnects()
    {
        await using var watcher = Client.WatchLeadership();
        await Eventually.WithinAsync(watcher.WaitForLeadershipAsync(), "leadership");
        var states = new List<LeadershipState>();
        watcher.Changed += (_, e) =>
        {
            lock (states)
            {
                states.Add(e.Current);
            }
        };

        Cluster.Streams.BreakAll();

        await Eventually.HoldsAsync(() => Cluster.Calls("Leadership.WatchLeadership") == 2, "the watcher reopened its stream");
        await Eventually.HoldsAsync(() => watcher.IsLeader && watcher.IsConnected, "leadership was reported again");
        lock (states)
        {
            Assert.Equal([(0L, 1L, false), (1L, 1L, true)], states.Select(s => (s.LeaderId, s.Term, s.IsLocal)));
        }
    }

    [Fact]
    public async Task WatchLeadership_SidecarRestartsWithANewLeader_ReportsTheChangeMadeMeanwhile()
    {
        await using var watcher = Client.WatchLeadership();
        await Eventually.WithinAsync(watcher.WaitForLeadershipAsync(), "leadership");

        await Sidecar.StopAsync();
        await Eventually.HoldsAsync(() => !watcher.IsConnected && !watcher.Current.HasLeader, "the watcher noticed the sidecar left");
        Cluster.Leadership.Set(leaderId: 3, term: 5);
        await Sidecar.StartAsync();

        await Eventually.HoldsAsync(() => watcher.Current.LeaderId == 3, "the new leader was reported");
        Assert.Equal(5, watcher.Term);
        Assert.False(watcher.IsLeader);
    }

    [Fact]
    public async Task WaitForLeadershipAsync_SidecarBecomesLeader_ReturnsTheTermWhoseLostFiresOnTheNextTerm()
    {
        Cluster.Leadership.Set(leaderId: 2, term: 3);
        await using var watcher = Client.WatchLeadership();
        var waiting = watcher.WaitForLeadershipAsync();
        await Eventually.HoldsAsync(() => watcher.Current.LeaderId == 2, "the follower state arrived");
        Assert.False(waiting.IsCompleted);

        Cluster.Leadership.Set(leaderId: 1, term: 4);
        var term = await Eventually.WithinAsync(waiting, "local leadership");

        Assert.Equal(4, term.Term);
        Assert.False(term.IsLost);
        Assert.Same(term, watcher.CurrentTerm);

        Cluster.Leadership.Set(leaderId: 2, term: 5);
        await Eventually.WithinAsync(Eventually.CancelledAsync(term.Lost), "Lost to fire");
        Assert.Null(watcher.CurrentTerm);
    }

    [Fact]
    public async Task LeadershipTerm_SameLeaderNewTerm_LostFiresAndANewTermBegins()
    {
        await using var watcher = Client.WatchLeadership();
        var first = await Eventually.WithinAsync(watcher.WaitForLeadershipAsync(), "leadership");

        Cluster.Leadership.Set(leaderId: 1, term: 2);

        await Eventually.WithinAsync(Eventually.CancelledAsync(first.Lost), "the old term's Lost");
        var second = await Eventually.WithinAsync(watcher.WaitForLeadershipAsync(), "the new term");
        Assert.Equal(2, second.Term);
        Assert.False(second.IsLost);
    }

    [Fact]
    public async Task LeadershipTerm_SidecarUnreachable_LostFires()
    {
        await using var watcher = Client.WatchLeadership();
        var term = await Eventually.WithinAsync(watcher.WaitForLeadershipAsync(), "leadership");

        await Sidecar.StopAsync();

        await Eventually.WithinAsync(Eventually.CancelledAsync(term.Lost), "Lost to fire");
        Assert.False(watcher.IsLeader);
    }

    [Fact]
    public async Task DisposeAsync_WhileLeader_EndsTheTermAndCompletesStreams()
    {
        var watcher = Client.WatchLeadership();
        var term = await Eventually.WithinAsync(watcher.WaitForLeadershipAsync(), "leadership");
        var states = watcher.WatchAsync().GetAsyncEnumerator();
        Assert.True(await states.MoveNextAsync());

        await watcher.DisposeAsync();

        Assert.True(term.IsLost);
        Assert.False(await states.MoveNextAsync());
        await states.DisposeAsync();
    }

    [Fact]
    public async Task ResignAsync_Leader_HandsOverToAnotherMember()
    {
        var result = await Client.ResignAsync();

        Assert.Equal(new LeadershipTransferResult(2, 2), result);
        Assert.Equal(2, (await Client.GetLeaderAsync()).LeaderId);
    }

    [Fact]
    public async Task ResignAsync_NotLeader_ThrowsFailedPreconditionWithTheServersReason()
    {
        Cluster.Leadership.Set(leaderId: 2, term: 2);

        var error = await Assert.ThrowsAsync<KuorumException>(() => Client.ResignAsync());

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("not the leader", error.Message);
    }

    [Fact]
    public async Task TransferLeadershipAsync_Target_ReportsTheNewLeaderAndTerm()
    {
        var result = await Client.TransferLeadershipAsync(3);

        Assert.Equal(new LeadershipTransferResult(3, 2), result);
    }
}
