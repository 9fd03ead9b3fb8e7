using Kuorum.Agent.Node;
using Kuorum.Raft;
using Kuorum.Storage.StateMachine;

namespace Kuorum.Agent.Tests;

/// <summary>The leader's lease clocks, on a real state machine and a hand-driven clock.</summary>
public sealed class LeaseKeeperTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "kuorum-lease-" + Guid.NewGuid().ToString("N"));
    private readonly KvStateMachine _machine;
    private readonly ManualTime _time = new();
    private long _index;

    public LeaseKeeperTests()
    {
        _machine = KvStateMachine.Open(_directory);
    }

    private void Apply(KvCommand command) => _machine.Apply(new Entry(++_index, 1, EntryType.Normal, command.Encode()));

    [Fact]
    public void ALease_ExpiresOnlyAfterItsTtlWithoutKeepAlive_AndIsReportedOnce()
    {
        Apply(KvCommand.LeaseGrant(7, 2000));
        var keeper = new LeaseKeeper(_time);
        keeper.Reset(_machine.Leases());

        _time.Advance(TimeSpan.FromMilliseconds(1500));
        Assert.Empty(keeper.Expired(_machine));
        Assert.Equal(2000, keeper.KeepAlive(7, _machine));
        _time.Advance(TimeSpan.FromMilliseconds(1500));
        Assert.Empty(keeper.Expired(_machine));
        Assert.InRange(keeper.Remaining(7), 400, 600);

        _time.Advance(TimeSpan.FromMilliseconds(600));
        Assert.Equal([7L], keeper.Expired(_machine));
        Assert.Empty(keeper.Expired(_machine));
        Assert.Equal(0, keeper.KeepAlive(7, _machine));

        // The revoke could not be proposed: it is reported again.
        keeper.RetryLater(7);
        Assert.Equal([7L], keeper.Expired(_machine));
    }

    [Fact]
    public void UnknownLeases_HaveNoTtl_AndRevokedOnesAreForgotten()
    {
        var keeper = new LeaseKeeper(_time);
        Assert.Equal(0, keeper.KeepAlive(99, _machine));
        Assert.Equal(-1, keeper.Remaining(99));

        Apply(KvCommand.LeaseGrant(8, 1000));
        keeper.Track(8, 1000);
        Apply(KvCommand.LeaseRevoke(8));
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Empty(keeper.Expired(_machine));
        Assert.Equal(-1, keeper.Remaining(8));
    }

    public void Dispose()
    {
        _machine.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private sealed class ManualTime : TimeProvider
    {
        private long _now = 1_000_000;

        public override long TimestampFrequency => 1_000_000;

        public override long GetTimestamp() => _now;

        public void Advance(TimeSpan by) => _now += (long)(by.TotalMilliseconds * 1000);
    }
}
