using Kuorum.Client.Tests.Support;

namespace Kuorum.Client.Tests.KeyValue;

public sealed class WatchTests : SidecarTest
{
    private readonly CancellationTokenSource _stop = new(TimeSpan.FromSeconds(30));

    [Fact]
    public async Task WatchAsync_FromARevision_DeliversHistoryThenLiveChangesInOrder()
    {
        var first = await Client.PutAsync("k", "1");
        await Client.PutAsync("k", "2");
        await using var events = Client.WatchAsync("k", first, _stop.Token).GetAsyncEnumerator(_stop.Token);

        var history = await NextAsync(events, 2);
        await Client.PutAsync("k", "3");
        await Client.DeleteAsync("k");
        var live = await NextAsync(events, 2);

        Assert.Equal(["1", "2"], history.Select(e => e.Entry.GetString()));
        Assert.Equal(first, history[0].Revision);
        Assert.Equal((WatchEventType.Put, "3"), (live[0].Type, live[0].Entry.GetString()));
        Assert.Equal(WatchEventType.Delete, live[1].Type);
        Assert.Equal("k", live[1].Key.ToString());
        AssertIncreasing([.. history, .. live]);
    }

    [Fact]
    public async Task WatchAsync_FromNow_SkipsEarlierChanges()
    {
        await Client.PutAsync("k", "before");
        await using var events = Client.WatchAsync("k", _stop.Token).GetAsyncEnumerator(_stop.Token);
        var next = events.MoveNextAsync().AsTask();
        await Eventually.HoldsAsync(() => Cluster.Streams.Open("KeyValue.Watch") == 1, "the watch opened");

        await Client.PutAsync("k", "after");

        Assert.True(await Eventually.WithinAsync(next, "an event"));
        Assert.Equal("after", events.Current.Entry.GetString());
    }

    [Fact]
    public async Task WatchPrefixAsync_EmptyPrefixFromNow_DeliversEveryKey()
    {
        await Client.PutAsync("before", "x");
        await using var events = Client.WatchPrefixAsync(string.Empty, _stop.Token).GetAsyncEnumerator(_stop.Token);
        var next = events.MoveNextAsync().AsTask();
        await Eventually.HoldsAsync(() => Cluster.Streams.Open("KeyValue.Watch") == 1, "the watch opened");

        await Client.PutAsync("a", "1");
        await Client.PutAsync("z/b", "2");

        Assert.True(await Eventually.WithinAsync(next, "the first event"));
        var seen = new List<WatchEvent> { events.Current };
        seen.AddRange(await NextAsync(events, 1));
        Assert.Equal(["a", "z/b"], seen.Select(e => e.Key.ToString()));
    }

    [Fact]
    public async Task WatchPrefixAsync_ChangesUnderAndOutsideThePrefix_DeliversOnlyThoseUnder()
    {
        var from = Cluster.Store.Revision + 1;
        await Client.PutAsync("app/a", "1");
        await Client.PutAsync("other/x", "1");
        await Client.PutAsync("app/b", "2");
        await Client.DeleteAsync("app/a");

        await using var events = Client.WatchPrefixAsync("app/", from, _stop.Token).GetAsyncEnumerator(_stop.Token);
        var seen = await NextAsync(events, 3);

        Assert.Equal(["Put app/a", "Put app/b", "Delete app/a"], seen.Select(e => $"{e.Type} {e.Key}"));
    }

    [Fact]
    public async Task WatchPrefixAsync_TransactionWritingTwoKeys_DeliversBothAtOneRevision()
    {
        var from = Cluster.Store.Revision + 1;
        await Client.Transaction().ThenPut("app/a", "1").ThenPut("app/b", "2").CommitAsync();

        await using var events = Client.WatchPrefixAsync("app/", from, _stop.Token).GetAsyncEnumerator(_stop.Token);
        var seen = await NextAsync(events, 2);

        Assert.Equal(seen[0].Revision, seen[1].Revision);
        Assert.Equal(["app/a", "app/b"], seen.Select(e => e.Key.ToString()));
    }

    [Fact]
    public async Task WatchPrefixAsync_StreamBroken_ResumesAfterTheLastRevisionWithoutLossOrDuplicate()
    {
        var from = Cluster.Store.Revision + 1;
        await using var events = Client.WatchPrefixAsync("app/", from, _stop.Token).GetAsyncEnumerator(_stop.Token);
        await Client.PutAsync("app/a", "1");
        var before = await NextAsync(events, 1);
        var pending = events.MoveNextAsync().AsTask();

        Cluster.RejectWatches = true;
        Cluster.Streams.BreakAll();
        await Eventually.HoldsAsync(() => Cluster.Calls("KeyValue.Watch") >= 3, "a reconnection was refused");
        await Client.PutAsync("app/b", "2");
        await Client.PutAsync("app/c", "3");
        Cluster.RejectWatches = false;
        Assert.True(await Eventually.WithinAsync(pending, "the first event after the break"));
        var after = new List<WatchEvent> { events.Current };
        after.AddRange(await NextAsync(events, 1));
        await Client.PutAsync("app/d", "4");
        var live = await NextAsync(events, 1);

        var all = before.Concat(after).Concat(live).ToList();
        Assert.Equal(["app/a", "app/b", "app/c", "app/d"], all.Select(e => e.Key.ToString()));
        AssertIncreasing(all);
        Assert.Equal(before[0].Revision + 1, Cluster.WatchRequests.Last().StartRevision);
    }

    [Fact]
    public async Task WatchAsync_AgentRedeliversOnResume_SkipsWhatWasAlreadyDelivered()
    {
        var from = Cluster.Store.Revision + 1;
        await using var events = Client.WatchAsync("k", from, _stop.Token).GetAsyncEnumerator(_stop.Token);
        await Client.PutAsync("k", "1");
        await Client.PutAsync("k", "2");
        var before = await NextAsync(events, 2);
        Cluster.WatchReplayOverlap = 5;
        var pending = events.MoveNextAsync().AsTask();

        Cluster.Streams.BreakAll();
        await Eventually.HoldsAsync(() => Cluster.Streams.Open("KeyValue.Watch") == 1 && Cluster.Calls("KeyValue.Watch") == 2, "the watch reopened");
        await Client.PutAsync("k", "3");
        Assert.True(await Eventually.WithinAsync(pending, "the event after the break"));
        var after = new List<WatchEvent> { events.Current };

        Assert.Equal(["1", "2", "3"], before.Concat(after).Select(e => e.Entry.GetString()));
    }

    [Fact]
    public async Task WatchAsync_FromNowAndBrokenBeforeAnyEvent_MissesNothingWrittenMeanwhile()
    {
        await using var events = Client.WatchAsync("k", _stop.Token).GetAsyncEnumerator(_stop.Token);
        var next = events.MoveNextAsync().AsTask();
        await Eventually.HoldsAsync(() => Cluster.Streams.Open("KeyValue.Watch") == 1, "the watch opened");

        Cluster.RejectWatches = true;
        Cluster.Streams.BreakAll();
        await Eventually.HoldsAsync(() => Cluster.Calls("KeyValue.Watch") >= 3, "a reconnection was refused");
        await Client.PutAsync("k", "while down");
        Cluster.RejectWatches = false;

        Assert.True(await Eventually.WithinAsync(next, "the event written while down"));
        Assert.Equal("while down", events.Current.Entry.GetString());
    }

    [Fact]
    public async Task WatchAsync_SidecarRestarts_ResumesWithTheChangesMadeMeanwhile()
    {
        var from = Cluster.Store.Revision + 1;
        await using var events = Client.WatchAsync("k", from, _stop.Token).GetAsyncEnumerator(_stop.Token);
        await Client.PutAsync("k", "1");
        var before = await NextAsync(events, 1);
        var pending = events.MoveNextAsync().AsTask();

        await Sidecar.StopAsync();
        Cluster.Store.Put(new() { Key = Google.Protobuf.ByteString.CopyFromUtf8("k"), Value = Google.Protobuf.ByteString.CopyFromUtf8("2") });
        await Sidecar.StartAsync();
        Assert.True(await Eventually.WithinAsync(pending, "the change made while the sidecar was down"));
        var after = new List<WatchEvent> { events.Current };

        Assert.Equal(["1", "2"], before.Concat(after).Select(e => e.Entry.GetString()));
    }

    [Fact]
    public async Task WatchAsync_StartBeforeTheCompactedHistory_ThrowsWatchCompactedWithTheCompactRevision()
    {
        var first = await Client.PutAsync("k", "1");
        await Client.PutAsync("k", "2");
        var kept = await Client.PutAsync("k", "3");
        Cluster.Store.Compact(kept);

        var error = await Assert.ThrowsAsync<WatchCompactedException>(async () =>
        {
            await foreach (var change in Client.WatchAsync("k", first, _stop.Token))
            {
                Assert.Fail($"no event expected, got {change}");
            }
        });

        Assert.Equal(kept, error.CompactRevision);
        Assert.Equal(first, error.RequestedRevision);
        Assert.Contains($"from revision {kept}", error.Message);
    }

    [Fact]
    public async Task WatchAsync_CompactedWhileDisconnected_ThrowsWatchCompactedWhenResuming()
    {
        var from = Cluster.Store.Revision + 1;
        await using var events = Client.WatchAsync("k", from, _stop.Token).GetAsyncEnumerator(_stop.Token);
        await Client.PutAsync("k", "1");
        var seen = await NextAsync(events, 1);
        var pending = events.MoveNextAsync().AsTask();

        Cluster.RejectWatches = true;
        Cluster.Streams.BreakAll();
        await Eventually.HoldsAsync(() => Cluster.Calls("KeyValue.Watch") >= 3, "a reconnection was refused");
        await Client.PutAsync("k", "2");
        var kept = await Client.PutAsync("k", "3");
        Cluster.Store.Compact(kept);
        Cluster.RejectWatches = false;

        var error = await Assert.ThrowsAsync<WatchCompactedException>(() => Eventually.WithinAsync(pending, "the resumed watch"));
        Assert.Equal(seen[0].Revision + 1, error.RequestedRevision);
        Assert.Equal(kept, error.CompactRevision);
    }

    public override async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        _stop.Dispose();
        await base.DisposeAsync();
    }

    private static void AssertIncreasing(IReadOnlyList<WatchEvent> events)
    {
        for (var i = 1; i < events.Count; i++)
        {
            Assert.True(events[i].Revision > events[i - 1].Revision, $"event {i} ({events[i]}) is not after {events[i - 1]}");
        }
    }

    private static async Task<List<WatchEvent>> NextAsync(IAsyncEnumerator<WatchEvent> events, int count)
    {
        var received = new List<WatchEvent>();
        for (var i = 0; i < count; i++)
        {
            Assert.True(await Eventually.WithinAsync(events.MoveNextAsync().AsTask(), $"event {i + 1} of {count}"), "the watch ended");
            received.Add(events.Current);
        }

        return received;
    }
}
