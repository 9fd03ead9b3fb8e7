using Grpc.Core;
using Kuorum.Client.Tests.Fakes;
using Kuorum.Client.Tests.Support;

namespace Kuorum.Client.Tests;

public sealed class KuorumClientTests : SidecarTest
{
    [Fact]
    public async Task WaitForSidecarAsync_SidecarStartsLate_ReturnsOnceServingWithALeader()
    {
        await using var sidecar = FakeSidecar.Create(new FakeCluster(localId: 1, leaderId: 0, term: 2) { Serving = null });
        await using var client = new KuorumClient(sidecar.SocketOptions());

        var waiting = client.WaitForSidecarAsync();
        await Task.Yield();
        Assert.False(waiting.IsCompleted, "no sidecar is listening yet");

        await sidecar.StartAsync();
        await Eventually.HoldsAsync(() => sidecar.Cluster.Calls("Health.Check") >= 2, "the client probed health while unregistered");
        Assert.False(waiting.IsCompleted, "health has no status yet");

        sidecar.Cluster.Serving = true;
        await Eventually.HoldsAsync(() => sidecar.Cluster.Calls("Leadership.GetLeader") >= 2, "the client asked for a leader");
        Assert.False(waiting.IsCompleted, "no leader is known yet");

        sidecar.Cluster.Leadership.Set(leaderId: 3, term: 4);
        var state = await Eventually.WithinAsync(waiting, "WaitForSidecarAsync to return");

        Assert.Equal(3, state.LeaderId);
        Assert.Equal(4, state.Term);
        Assert.False(state.IsLocal);
    }

    [Fact]
    public async Task WaitForSidecarAsync_NoLeaderBeforeTimeout_ThrowsTimeoutSayingWhatIsMissing()
    {
        Cluster.Leadership.Set(leaderId: 0, term: 1);

        var error = await Assert.ThrowsAsync<TimeoutException>(() => Client.WaitForSidecarAsync(TimeSpan.FromMilliseconds(300)));

        Assert.Contains("no leader", error.Message);
    }

    [Fact]
    public async Task Client_OverUnixSocket_ReadsAndWrites()
    {
        var client = NewClient(Sidecar.SocketOptions());

        await client.PutAsync("greeting", "hello over a socket");

        Assert.StartsWith("unix:", client.Target);
        Assert.Equal("hello over a socket", await client.GetStringAsync("greeting"));
    }

    [Fact]
    public async Task GetAsync_SidecarUnavailableTwice_RetriesAndSucceeds()
    {
        await Client.PutAsync("k", "v");
        Cluster.Fail("KeyValue.Get", StatusCode.Unavailable, times: 2);

        var value = await Client.GetStringAsync("k");

        Assert.Equal("v", value);
        Assert.Equal(3, Cluster.Calls("KeyValue.Get"));
    }

    [Fact]
    public async Task GetAsync_UnavailableOnEveryAttempt_ThrowsUnavailableAfterMaxAttempts()
    {
        Cluster.Fail("KeyValue.Get", StatusCode.Unavailable, times: 10);

        var error = await Assert.ThrowsAsync<KuorumUnavailableException>(() => Client.GetAsync("k"));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Equal(new KuorumClientOptions().MaxReadAttempts, Cluster.Calls("KeyValue.Get"));
        Assert.Contains("WaitForSidecarAsync", error.Message);
    }

    [Fact]
    public async Task PutAsync_Unavailable_IsNotRetried()
    {
        Cluster.Fail("KeyValue.Put", StatusCode.Unavailable);

        await Assert.ThrowsAsync<KuorumUnavailableException>(() => Client.PutAsync("k", "v"));

        Assert.Equal(1, Cluster.Calls("KeyValue.Put"));
        Assert.Null(await Client.GetAsync("k"));
    }

    [Fact]
    public async Task PutAsync_EmptyKey_ThrowsKuorumExceptionWithTheServersMessage()
    {
        var error = await Assert.ThrowsAsync<KuorumException>(() => Client.PutAsync(string.Empty, "v"));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("keys are 1 to 4096 bytes", error.ServerMessage);
        Assert.Contains("keys are 1 to 4096 bytes", error.Message);
    }

    [Fact]
    public async Task GetAsync_Cancelled_ThrowsOperationCanceled()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Client.GetAsync("k", cancelled.Token));
    }

    [Fact]
    public async Task DisposeAsync_WithHeldLockAndLease_ReleasesTheLockAndRevokesBothLeases()
    {
        var client = new KuorumClient(Sidecar.TcpOptions());
        var held = await client.AcquireLockAsync("jobs", TimeSpan.FromSeconds(5));
        var lease = await client.GrantLeaseAsync(TimeSpan.FromSeconds(5));

        await client.DisposeAsync();

        Assert.Contains(held.LeaseId, Cluster.Store.RevokedLeases);
        Assert.Contains(lease.Id, Cluster.Store.RevokedLeases);
        Assert.Single(Cluster.Store.ReleasedLocks);
        Assert.Null(await Client.GetAsync(held.Key));
        Assert.False(held.IsLost);
    }

    [Fact]
    public async Task Operations_AfterDispose_ThrowObjectDisposed()
    {
        var client = new KuorumClient(Sidecar.TcpOptions());
        await client.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.GetAsync("k"));
        Assert.Throws<ObjectDisposedException>(() => client.WatchLeadership());
    }
}
