using Kuorum.Raft.Tests.Harness;

namespace Kuorum.Raft.Tests;

/// <summary>Leadership transfer (§3.10 of the dissertation).</summary>
public sealed class TransferTests
{
    [Fact]
    public void Transfer_ToUpToDateFollower_SendsTimeoutNowAndTargetLeadsTheNextTerm()
    {
        var cluster = TestCluster.Bootstrap(3);
        var leader = cluster.Elect(1);
        var term = leader.Term;

        var result = leader.TransferLeadership(2);
        cluster.HandleReadies();

        Assert.True(result.IsAccepted);
        Assert.Contains(cluster.InFlight, m => (m.Type, m.From, m.To) == (MessageType.TimeoutNow, 1, 2));

        cluster.DeliverAll();

        Assert.Same(cluster[2], cluster.Leader);
        Assert.Equal(term + 1, cluster[2].Term);
        Assert.Equal((RaftRole.Follower, 2L), (leader.Role, leader.LeaderId));
        Assert.True(cluster.Propose(2, "after").IsAccepted);
    }

    [Fact]
    public void Transfer_ToLaggingFollower_CatchesItUpBeforeSendingTimeoutNow()
    {
        var cluster = TestCluster.Bootstrap(3);
        var leader = cluster.Elect(1);
        cluster.Cut(1, 3);
        for (var i = 0; i < 3; i++)
        {
            cluster.Propose(1, $"e{i}");
        }

        cluster.DeliverAll();
        var last = leader.LastIndex;
        Assert.True(cluster[3].LastIndex < last);
        cluster.Recover();

        leader.TransferLeadership(3);
        cluster.HandleReadies();
        Assert.DoesNotContain(cluster.InFlight, m => m.Type == MessageType.TimeoutNow);

        cluster.DeliverAll();

        Assert.Same(cluster[3], cluster.Leader);
        var caughtUp = cluster.Delivered.FindIndex(m => m.Type == MessageType.AppendResponse && m.From == 3 && !m.Reject && m.Index == last);
        var timeoutNow = cluster.Delivered.FindIndex(m => m.Type == MessageType.TimeoutNow);
        Assert.InRange(caughtUp, 0, timeoutNow);
        Assert.Equal(["e0", "e1", "e2"], cluster.Applied(3).Where(e => e.Type == EntryType.Normal && !e.IsNoop).Select(Build.Text));
    }

    [Fact]
    public void Transfer_InProgress_RefusesProposals()
    {
        var cluster = TestCluster.Bootstrap(3);
        var leader = cluster.Elect(1);
        cluster.Cut(1, 3);

        leader.TransferLeadership(3);
        var result = cluster.Propose(1, "x");

        Assert.Equal(ProposalStatus.TransferInProgress, result.Status);
        Assert.Equal(3, leader.LeadTransferee);
    }

    [Fact]
    public void Transfer_ToPartitionedTarget_IsAbandonedAfterElectionTimeout()
    {
        var cluster = TestCluster.Bootstrap(3);
        var leader = cluster.Elect(1);
        var term = leader.Term;
        cluster.Cut(1, 3);
        leader.TransferLeadership(3);

        cluster.Tick(1, ClusterOptions.ElectionTicks - 1);
        Assert.Equal(ProposalStatus.TransferInProgress, cluster.Propose(1, "early").Status);

        cluster.Tick(1);

        Assert.Equal(RaftNode.None, leader.LeadTransferee);
        var result = cluster.Propose(1, "x");
        Assert.True(result.IsAccepted);
        cluster.DeliverAll();
        Assert.Equal((RaftRole.Leader, term), (leader.Role, leader.Term));
        Assert.Equal(result.Index, leader.CommitIndex);
    }

    [Fact]
    public void Transfer_WhoseTimeoutNowIsLost_IsAbandonedAndLeaderKeepsLeading()
    {
        var cluster = TestCluster.Bootstrap(3);
        var leader = cluster.Elect(1);
        var term = leader.Term;
        cluster.Drop(MessageType.TimeoutNow);

        leader.TransferLeadership(2);
        cluster.TickAll(ClusterOptions.ElectionTicks);

        Assert.Single(cluster.Dropped, m => m.Type == MessageType.TimeoutNow);
        Assert.Same(leader, cluster.Leader);
        Assert.Equal(term, leader.Term);
        Assert.True(cluster.Propose(1, "x").IsAccepted);
    }

    [Fact]
    public void Transfer_ToLearner_IsInvalid()
    {
        var cluster = TestCluster.Bootstrap(3);
        var leader = cluster.Elect(1);
        cluster.AddEmptyNode(4);
        leader.ProposeConfChange(new ConfChange(ConfChangeType.AddLearner, 4));
        cluster.DeliverAll();

        var result = leader.TransferLeadership(4);

        Assert.Equal(ProposalStatus.Invalid, result.Status);
        Assert.Contains("node 4", result.Error);
        Assert.Equal(RaftNode.None, leader.LeadTransferee);
    }
}
