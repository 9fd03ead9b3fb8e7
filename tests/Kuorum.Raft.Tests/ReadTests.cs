using Kuorum.Raft.Tests.Harness;

namespace Kuorum.Raft.Tests;

/// <summary>Linearizable reads (§6.4 of the dissertation): ReadIndex with a quorum round, and the leader lease.</summary>
public sealed class ReadTests
{
    private static ReadState? ReadFor(TestCluster cluster, long node, long context) =>
        cluster.Node(node).ReadStates.Where(r => r.Context == context).Cast<ReadState?>().SingleOrDefault();

    /// <summary>A three-node cluster led by node 1, whose followers acknowledged a heartbeat round just now.</summary>
    private static (TestCluster Cluster, RaftNode Leader) LeaderWithFreshLease()
    {
        var cluster = TestCluster.Bootstrap(3);
        var leader = cluster.Elect(1);
        cluster.Propose(1, "x");
        cluster.TickAll();
        Assert.True(leader.LeaseValid);
        return (cluster, leader);
    }

    [Fact]
    public void Leader_ReadIndex_IsAnsweredWithCommitIndexOnlyAfterQuorumAcknowledgesHeartbeat()
    {
        var cluster = TestCluster.Bootstrap(3);
        var leader = cluster.Elect(1);
        cluster.Propose(1, "x");
        cluster.DeliverAll();
        var commit = leader.CommitIndex;
        cluster.Isolate(2);
        cluster.Isolate(3);

        leader.ReadIndex(42);
        cluster.DeliverAll();
        Assert.Null(ReadFor(cluster, 1, 42));

        cluster.Recover();
        cluster.Tick(1);

        Assert.Equal(new ReadState(commit, 42), ReadFor(cluster, 1, 42));
        Assert.Contains(cluster.Delivered, m => m.Type == MessageType.HeartbeatResponse && m.To == 1);
    }

    [Fact]
    public void Leader_ReadIndex_WaitsForTheHeartbeatRoundStartedAfterTheRequest()
    {
        var cluster = TestCluster.Bootstrap(3);
        var leader = cluster.Elect(1);
        leader.ReadIndex(7);
        cluster.HandleReadies();
        var round = cluster.InFlight.First(m => m.Type == MessageType.Heartbeat).Context;

        cluster.DeliverUntil(() => ReadFor(cluster, 1, 7) is not null);

        var acknowledged = cluster.Delivered[^1];
        Assert.Equal((MessageType.HeartbeatResponse, 1L), (acknowledged.Type, acknowledged.To));
        Assert.True(acknowledged.Context >= round);
    }

    [Fact]
    public void Leader_ReadIndex_IsNotAnsweredByAcknowledgementsOfAnEarlierRound()
    {
        var cluster = TestCluster.Bootstrap(3);
        var leader = cluster.Elect(1);

        // A heartbeat round leaves before the read arrives; its answers prove nothing about the read.
        leader.Tick();
        cluster.HandleReadies();
        var earlier = cluster.InFlight.Last(m => m.Type == MessageType.Heartbeat).Context;
        leader.ReadIndex(7);
        cluster.HandleReadies();

        cluster.DeliverUntil(() => cluster.Delivered.Any(m => m.Type == MessageType.HeartbeatResponse && m.Context == earlier));
        Assert.Null(ReadFor(cluster, 1, 7));

        cluster.DeliverUntil(() => ReadFor(cluster, 1, 7) is not null);
        Assert.True(cluster.Delivered[^1].Context > earlier);
    }

    [Fact]
    public void StaleLeader_ReadIndex_IsNeverAnswered()
    {
        var options = ClusterOptions.Default with { CheckQuorum = false, LeaseTicks = 0 };
        var cluster = TestCluster.Bootstrap(3, options);
        var stale = cluster.Elect(1);
        cluster.Isolate(1);
        cluster.TickAll(5 * ClusterOptions.ElectionTicks);
        var leader = cluster.Leader!;
        Assert.NotSame(stale, leader);
        cluster.Propose(leader.Id, "newer");
        cluster.TickAll();

        stale.ReadIndex(9);
        cluster.TickAll(5 * ClusterOptions.ElectionTicks);
        Assert.Null(ReadFor(cluster, 1, 9));

        // Against a core that skips the quorum round the stale leader answers at once, with an index that
        // misses the write the new leader committed: a stale read.
        stale.UnsafeReadsWithoutQuorum = true;
        stale.ReadIndex(10);
        cluster.HandleReadies();
        Assert.True(ReadFor(cluster, 1, 10)!.Value.Index < leader.CommitIndex);
    }

    [Fact]
    public void Follower_ReadIndex_IsForwardedToLeaderAndAnswered()
    {
        var cluster = TestCluster.Bootstrap(3);
        var leader = cluster.Elect(1);
        cluster.Propose(1, "x");
        cluster.DeliverAll();

        var result = cluster[2].ReadIndex(5);
        cluster.DeliverAll();

        Assert.True(result.IsAccepted);
        Assert.Contains(cluster.Delivered, m => (m.Type, m.From, m.To, m.Context) == (MessageType.ReadIndex, 2, 1, 5));
        Assert.Equal(new ReadState(leader.CommitIndex, 5), ReadFor(cluster, 2, 5));
    }

    [Fact]
    public void Follower_ReadIndexWithoutKnownLeader_IsRefused()
    {
        var cluster = TestCluster.Bootstrap(3);

        var result = cluster[2].ReadIndex(5);

        Assert.Equal(ProposalStatus.NotLeader, result.Status);
    }

    [Fact]
    public void NewLeader_ReadIndex_WaitsUntilItsNoopIsCommitted()
    {
        var cluster = TestCluster.Bootstrap(3);
        cluster.Elect(1);
        cluster.Propose(1, "x");
        cluster.DeliverAll();
        var newLeader = cluster[2];
        cluster[1].TransferLeadership(2);
        cluster.DeliverUntil(() => newLeader.Role == RaftRole.Leader);
        var noop = newLeader.LastIndex;
        Assert.True(newLeader.CommitIndex < noop);

        newLeader.ReadIndex(3);
        cluster.HandleReadies();
        Assert.Null(ReadFor(cluster, 2, 3));

        cluster.DeliverAll();

        Assert.True(ReadFor(cluster, 2, 3)!.Value.Index >= noop);
    }

    [Fact]
    public void Leader_LeaseRead_IsAnsweredAtOnceWhileLeaseHolds()
    {
        var (cluster, leader) = LeaderWithFreshLease();
        var sentBefore = cluster.Sent.Count;

        leader.ReadIndex(1, ReadConsistency.Lease);
        cluster.HandleReadies();

        Assert.Equal(new ReadState(leader.CommitIndex, 1), ReadFor(cluster, 1, 1));
        Assert.Equal(sentBefore, cluster.Sent.Count);
    }

    [Fact]
    public void Leader_LeaseRead_FallsBackToQuorumRoundOnceFollowersAreSilentForLeaseTicks()
    {
        var (cluster, leader) = LeaderWithFreshLease();
        cluster.Isolate(1);

        cluster.Tick(1, ClusterOptions.Default.LeaseTicks - 1);
        leader.ReadIndex(1, ReadConsistency.Lease);
        cluster.HandleReadies();
        Assert.NotNull(ReadFor(cluster, 1, 1));

        cluster.Tick(1);
        Assert.False(leader.LeaseValid);
        leader.ReadIndex(2, ReadConsistency.Lease);
        cluster.DeliverAll();
        Assert.Null(ReadFor(cluster, 1, 2));
        Assert.Contains(cluster.Dropped, m => m.Type == MessageType.Heartbeat && m.From == 1);

        cluster.Recover();
        cluster.Tick(1);
        Assert.NotNull(ReadFor(cluster, 1, 2));
    }

    [Fact]
    public void Leader_LeaseRead_AfterSendingTimeoutNow_FallsBackToQuorumRound()
    {
        var (cluster, leader) = LeaderWithFreshLease();

        leader.TransferLeadership(2);
        cluster.HandleReadies();
        Assert.Contains(cluster.InFlight, m => m.Type == MessageType.TimeoutNow);

        leader.ReadIndex(1, ReadConsistency.Lease);
        cluster.HandleReadies();

        Assert.False(leader.LeaseValid);
        Assert.Null(ReadFor(cluster, 1, 1));
    }
}
