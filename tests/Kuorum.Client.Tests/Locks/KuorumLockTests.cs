using Kuorum.Client.Tests.Support;

namespace Kuorum.Client.Tests.Locks;

public sealed class KuorumLockTests : SidecarTest
{
    // Tests that do not wait for time to pass use a TTL no stall can reach: a cold test process on two loaded cores
    // once took over 2 s to get its first renewal confirmed, and lost a lease the test did not mean to lose.
    private static readonly TimeSpan _ttl = TimeSpan.FromSeconds(30);

    // Tests that watch renewals or a TTL running out need a short one.
    private static readonly TimeSpan _shortTtl = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task AcquireLockAsync_Free_ReturnsTokenTermAndKeyAndKeepsTheLeaseAlive()
    {
        await using var held = await Client.AcquireLockAsync("jobs", _shortTtl);

        Assert.True(held.FencingToken > 0);
        Assert.Equal(1, held.Term);
        Assert.Equal("jobs", held.Name);
        Assert.Equal($"jobs/{held.LeaseId:x}", new KuorumKey(held.Key.Span).ToString());
        await Eventually.HoldsAsync(() => Cluster.Store.KeepAlivesOf(held.LeaseId) >= 3, "three renewals (one every ttl/3)");
        Assert.False(held.IsLost);
    }

    [Fact]
    public async Task AcquireLockAsync_KeepAliveAnswersTtlZero_LostFires()
    {
        await using var held = await Client.AcquireLockAsync("jobs", _shortTtl);

        Cluster.Store.Expire(held.LeaseId);

        await Eventually.WithinAsync(Eventually.CancelledAsync(held.Lost), "Lost to fire");
        Assert.True(held.IsLost);
    }

    [Fact]
    public async Task DisposeAsync_HeldLock_ReleasesItAndRevokesItsLease()
    {
        var held = await Client.AcquireLockAsync("jobs", _ttl);
        var key = new KuorumKey(held.Key.Span);

        await held.DisposeAsync();

        Assert.Equal([key.ToString()], Cluster.Store.ReleasedLocks);
        Assert.Equal([held.LeaseId], Cluster.Store.RevokedLeases);
        Assert.Null(await Client.GetAsync(key));
        Assert.False(held.IsLost, "a voluntary release is not a loss");
    }

    [Fact]
    public async Task AcquireLockAsync_HeldByAnother_WaitsForTheReleaseAndGetsALargerFencingToken()
    {
        var other = NewClient();
        var first = await Client.AcquireLockAsync("jobs", _ttl);

        var second = other.AcquireLockAsync("jobs", _ttl);
        await Eventually.HoldsAsync(() => Cluster.Store.Range(new() { Prefix = Google.Protobuf.ByteString.CopyFromUtf8("jobs/") }).Kvs.Count == 2, "the second request queued");
        Assert.False(second.IsCompleted);

        await first.DisposeAsync();
        await using var next = await Eventually.WithinAsync(second, "the second holder");

        Assert.True(next.FencingToken > first.FencingToken);
        Assert.NotEqual(first.LeaseId, next.LeaseId);
    }

    [Fact]
    public async Task AcquireLockAsync_CancelledWhileWaiting_RevokesItsLease()
    {
        await using var first = await Client.AcquireLockAsync("jobs", _ttl);
        using var cancel = new CancellationTokenSource();

        var second = NewClient().AcquireLockAsync("jobs", _ttl, cancel.Token);
        await Eventually.HoldsAsync(() => Cluster.Calls("Lock.Acquire") == 2, "the second request reached the sidecar");
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second);
        var revoked = Assert.Single(Cluster.Store.RevokedLeases);
        Assert.NotEqual(first.LeaseId, revoked);
    }

    [Fact]
    public async Task AcquireLockAsync_LeaseExpiresWhileWaiting_ThrowsKuorumException()
    {
        await using var first = await Client.AcquireLockAsync("jobs", _ttl);
        var second = NewClient().AcquireLockAsync("jobs", _ttl);
        KeyValueEntry? waiter = null;
        await Eventually.HoldsAsync(
            () => (waiter = Cluster.Store.Range(new() { Prefix = Google.Protobuf.ByteString.CopyFromUtf8("jobs/") }).Kvs
                .Select(r => new KeyValueEntry(r)).FirstOrDefault(e => e.LeaseId != first.LeaseId)) is not null,
            "the second request queued");

        Cluster.Store.Expire(waiter!.LeaseId);

        await Assert.ThrowsAnyAsync<KuorumException>(() => second);
        Assert.False(first.IsLost, Logs.ToString());
    }

    [Fact]
    public async Task AcquireLockAsync_EmptyName_ThrowsBeforeGrantingALease()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Client.AcquireLockAsync(string.Empty, _ttl));

        Assert.Equal(0, Cluster.Calls("Lease.Grant"));
    }

    [Fact]
    public async Task KuorumLease_KeepAliveStreamBroken_ReopensAndStaysAlive()
    {
        await using var lease = await Client.GrantLeaseAsync(_shortTtl);
        await Eventually.HoldsAsync(() => Cluster.Streams.Open("Lease.KeepAlive") == 1, "the keep-alive stream opened");
        var before = Cluster.Store.KeepAlivesOf(lease.Id);

        Cluster.Streams.BreakAll();

        await Eventually.HoldsAsync(() => Cluster.Calls("Lease.KeepAlive") >= 2, "the keep-alive stream reopened");
        await Eventually.HoldsAsync(() => Cluster.Store.KeepAlivesOf(lease.Id) >= before + 2, "renewals went on");
        Assert.False(lease.IsLost, Logs.ToString());
    }

    [Fact]
    public async Task KuorumLease_SidecarGoneLongerThanTheTtl_LostFires()
    {
        await using var lease = await Client.GrantLeaseAsync(_shortTtl);
        await Eventually.HoldsAsync(() => Cluster.Store.KeepAlivesOf(lease.Id) >= 1, "a renewal");

        await Sidecar.StopAsync();

        await Eventually.WithinAsync(Eventually.CancelledAsync(lease.Lost), "Lost to fire", _shortTtl * 3);
    }

    [Fact]
    public async Task KuorumLease_SidecarRestartsWithinTheTtl_StaysAlive()
    {
        // Long enough for a stop and a start of the sidecar on a loaded machine, short enough to see renewals.
        await using var lease = await Client.GrantLeaseAsync(TimeSpan.FromSeconds(10));
        await Eventually.HoldsAsync(() => Cluster.Store.KeepAlivesOf(lease.Id) >= 1, "a renewal");

        await Sidecar.StopAsync();
        await Sidecar.StartAsync();

        var renewed = Cluster.Store.KeepAlivesOf(lease.Id);
        await Eventually.HoldsAsync(() => Cluster.Store.KeepAlivesOf(lease.Id) > renewed, "a renewal after the restart");
        Assert.False(lease.IsLost);
    }

    [Fact]
    public async Task PutAsync_BoundToALease_KeyVanishesWhenTheLeaseIsRevoked()
    {
        var lease = await Client.GrantLeaseAsync(_ttl);
        await Client.PutAsync("session/a", "alive", lease.Id);
        Assert.Equal(lease.Id, (await Client.GetAsync("session/a"))!.LeaseId);

        await lease.RevokeAsync();

        Assert.Null(await Client.GetAsync("session/a"));
        Assert.False(lease.IsLost);
    }

    [Fact]
    public async Task GrantLeaseAsync_TtlBelowTheAgentsMinimum_ThrowsWithTheAllowedRange()
    {
        var error = await Assert.ThrowsAsync<KuorumException>(() => Client.GrantLeaseAsync(TimeSpan.FromMilliseconds(10)));

        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("1,000 to 86,400,000", error.Message);
    }
}
