using Kuorum.Raft.Tests.Harness;

namespace Kuorum.Raft.Tests;

/// <summary>
/// A write the agent forwards from a follower is proposed on the leader, and the follower answers its client only once
/// it has applied the entry itself. So the follower must learn the commit index from the leader's commit broadcast (an
/// Append sent as soon as the leader's commit index moves), never from a heartbeat, whatever order the three disk
/// writes finish in and whatever state the leader's flow control for that follower is in. No test here ticks a node,
/// and each checks that no heartbeat was sent while the write was in flight.
/// </summary>
public sealed class CommitWithoutTickTests
{
    // Node 2 is the follower the write came through; node 3 is the other follower.
    private const long Forwarder = 2;

    // Three nodes, node 1 elected and every message delivered; the count of messages sent so far.
    private static (TestCluster Cluster, RaftNode Leader, int SentBefore) ClusterLedByNode1()
    {
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Paper);
        var leader = cluster.Elect(1);
        cluster.DeliverAll();
        return (cluster, leader, cluster.Sent.Count);
    }

    [Fact]
    public void ForwardedWrite_AllWritesPromptly_EveryFollowerAppliesWithoutATick()
    {
        var (cluster, _, sentBefore) = ClusterLedByNode1();

        var index = cluster.Propose(1, "x").Index;
        cluster.DeliverAll();

        AssertAppliedWithoutTick(cluster, sentBefore, index, "x");
    }

    [Fact]
    public void ForwardedWrite_LeadersOwnWriteFinishesLast_FollowersCommitOnTheirAcksAndApplyWithoutATick()
    {
        var (cluster, leader, sentBefore) = ClusterLedByNode1();

        var index = cluster.Propose(1, "x").Index;
        cluster.StartReady(1);
        cluster.DeliverAll();

        // Both followers' copies are a quorum: committed while the leader's write is still in flight. The broadcast
        // comes out with the leader's next Ready, after the one being written is advanced.
        Assert.Equal(index, leader.CommitIndex);

        cluster.FinishReady(1);
        cluster.DeliverAll();

        AssertAppliedWithoutTick(cluster, sentBefore, index, "x");
    }

    [Fact]
    public void ForwardedWrite_LeaderCommitsInItsAdvanceAfterOneAck_TheCommitIsBroadcastWithoutATick()
    {
        var (cluster, leader, sentBefore) = ClusterLedByNode1();

        var index = cluster.Propose(1, "x").Index;
        cluster.StartReady(1);
        cluster.StartReady(3);
        cluster.DeliverAll();

        // Only the forwarder acknowledged: one durable copy, no commit until the leader's own write is done.
        Assert.Equal(index, leader.ProgressOf(Forwarder).Match);
        Assert.True(leader.CommitIndex < index);

        // The commit is decided in the leader's Advance; the broadcast it makes there leaves with the next Ready.
        cluster.FinishReady(1);
        Assert.Equal(index, leader.CommitIndex);
        cluster.DeliverAll();
        Assert.Contains(cluster.Applied(Forwarder), e => e.Index == index);

        cluster.FinishReady(3);
        cluster.DeliverAll();

        AssertAppliedWithoutTick(cluster, sentBefore, index, "x");
    }

    [Fact]
    public void ForwardedWrite_ForwardersOwnWriteFinishesLast_ItAppliesOnTheBroadcastItReceivedMeanwhile()
    {
        var (cluster, leader, sentBefore) = ClusterLedByNode1();

        // The forwarder's disk is busy with an earlier write, so it can neither persist nor acknowledge the entry.
        cluster.StartReady(Forwarder);
        var index = cluster.Propose(1, "x").Index;
        cluster.DeliverAll();

        // Leader and node 3 committed; the broadcast reached the forwarder while it could not write.
        Assert.Equal(index, leader.CommitIndex);
        Assert.Equal(index, cluster[Forwarder].CommitIndex);
        Assert.DoesNotContain(cluster.Node(Forwarder).Storage.Entries, e => e.Index == index);
        Assert.DoesNotContain(cluster.Applied(Forwarder), e => e.Index == index);

        cluster.FinishReady(Forwarder);
        cluster.DeliverAll();

        AssertAppliedWithoutTick(cluster, sentBefore, index, "x");
    }

    [Fact]
    public void ForwardedWrite_JustAfterAnElection_WithTheProbesUnanswered_ReachesEveryFollowerWithoutATick()
    {
        // A new leader's progress for each follower is in Probe with its probe (the no-op) outstanding: paused. The
        // write's entry and the commit must follow as soon as the probe is answered, not on a heartbeat answer.
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Paper);
        cluster.DeliverAll();
        var leader = cluster[1];
        leader.Campaign();
        cluster.DeliverUntil(() => leader.Role == RaftRole.Leader);
        cluster.HandleReadies();
        Assert.All([2L, 3L], id => Assert.Equal(ReplicationState.Probe, leader.ProgressOf(id).State));
        var sentBefore = cluster.Sent.Count;

        var index = cluster.Propose(1, "x").Index;
        cluster.DeliverAll();

        AssertAppliedWithoutTick(cluster, sentBefore, index, "x");
    }

    [Fact]
    public void ForwardedWrites_ForwarderPausedWhileTheOthersCommitEverything_ItsAcksBringTheRestWithoutATick()
    {
        // One Append per proposal and a window of two. The forwarder's disk is busy, so its progress stays paused
        // (window full) while the leader and node 3 commit all six entries, and every commit broadcast skips it. Its
        // acknowledgements must then bring the rest of the log and the commit index.
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Paper with { MaxInflightMessages = 2 });
        var leader = cluster.Elect(1);
        cluster.DeliverAll();
        var sentBefore = cluster.Sent.Count;

        cluster.StartReady(Forwarder);
        var indexes = Enumerable.Range(0, 6).Select(i => cluster.Propose(1, $"e{i}").Index).ToList();
        cluster.DeliverAll();

        Assert.Equal(indexes[^1], leader.CommitIndex);
        Assert.Equal(indexes[1], cluster[Forwarder].LastIndex);
        Assert.True(cluster[Forwarder].CommitIndex < indexes[0]);

        cluster.FinishReady(Forwarder);
        cluster.DeliverAll();

        for (var i = 0; i < indexes.Count; i++)
        {
            AssertAppliedWithoutTick(cluster, sentBefore, indexes[i], $"e{i}");
        }
    }

    private static void AssertAppliedWithoutTick(TestCluster cluster, int sentBefore, long index, string text)
    {
        Assert.DoesNotContain(cluster.Sent.Skip(sentBefore), m => m.Type is MessageType.Heartbeat or MessageType.HeartbeatResponse);
        Assert.All(cluster.Ids, id =>
        {
            Assert.True(cluster[id].CommitIndex >= index, $"node {id} commit {cluster[id].CommitIndex} < {index}");
            Assert.Contains(cluster.Applied(id), e => e.Index == index && Build.Text(e) == text);
        });
    }
}
