using Kuorum.Raft.Tests.Harness;

namespace Kuorum.Raft.Tests;

/// <summary>Disruptive servers (§9.6 of the dissertation): pre-vote, check-quorum and the followers' leader lease.</summary>
public sealed class PreVoteAndCheckQuorumTests
{
    [Fact]
    public void PreVote_PartitionedNode_DoesNotRaiseItsTerm()
    {
        var cluster = TestCluster.Bootstrap(3);
        var term = cluster.Elect(1).Term;

        cluster.Isolate(3);
        cluster.TickAll(5 * ClusterOptions.ElectionTicks);

        Assert.Equal(term, cluster[3].Term);
        Assert.Contains(cluster.Sent, m => m.From == 3 && m.Type == MessageType.PreVote);
        Assert.DoesNotContain(cluster.Sent, m => m.From == 3 && m.Type == MessageType.Vote);
    }

    [Fact]
    public void PreVote_PartitionedNodeRejoins_LeaderKeepsLeadingInTheSameTerm()
    {
        var cluster = TestCluster.Bootstrap(3);
        var leader = cluster.Elect(1);
        var term = leader.Term;
        cluster.Isolate(3);
        cluster.TickAll(5 * ClusterOptions.ElectionTicks);

        cluster.Recover();
        cluster.TickAll(3 * ClusterOptions.ElectionTicks);

        Assert.Same(leader, cluster.Leader);
        Assert.Equal(term, leader.Term);
        Assert.Equal((RaftRole.Follower, 1L, term), (cluster[3].Role, cluster[3].LeaderId, cluster[3].Term));
    }

    [Fact]
    public void WithoutPreVote_PartitionedNodeRejoins_ItsHigherTermForcesAnElection()
    {
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Default with { PreVote = false });
        var term = cluster.Elect(1).Term;
        cluster.Isolate(3);
        cluster.TickAll(5 * ClusterOptions.ElectionTicks);
        var partitionedTerm = cluster[3].Term;
        Assert.True(partitionedTerm > term);

        cluster.Recover();
        cluster.TickAll(3 * ClusterOptions.ElectionTicks);

        Assert.NotNull(cluster.Leader);
        Assert.True(cluster.Leader.Term >= partitionedTerm);
    }

    [Fact]
    public void CheckQuorum_LeaderCutOffFromQuorum_StepsDownWithinTwoElectionTimeouts()
    {
        var cluster = TestCluster.Bootstrap(3);
        var leader = cluster.Elect(1);

        cluster.Isolate(1);
        cluster.Tick(1, 2 * ClusterOptions.ElectionTicks);

        Assert.Equal(RaftRole.Follower, leader.Role);
        Assert.Equal(RaftNode.None, leader.LeaderId);
    }

    [Fact]
    public void CheckQuorum_LeaderHearingFromQuorum_KeepsLeading()
    {
        var cluster = TestCluster.Bootstrap(3);
        var leader = cluster.Elect(1);
        var term = leader.Term;

        cluster.Isolate(3);
        cluster.TickAll(10 * ClusterOptions.ElectionTicks);

        Assert.Same(leader, cluster.Leader);
        Assert.Equal(term, leader.Term);
    }

    [Fact]
    public void WithoutCheckQuorum_LeaderCutOffFromQuorum_KeepsLeadingItsStaleTerm()
    {
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Default with { CheckQuorum = false, LeaseTicks = 0 });
        var leader = cluster.Elect(1);
        var term = leader.Term;

        cluster.Isolate(1);
        cluster.TickAll(10 * ClusterOptions.ElectionTicks);

        // The majority moved on, but the old leader does not know it.
        Assert.Equal((RaftRole.Leader, term), (leader.Role, leader.Term));
        Assert.NotSame(leader, cluster.Leader);
        Assert.True(cluster.Leader!.Term > term);
    }

    [Theory]
    [InlineData(MessageType.Vote)]
    [InlineData(MessageType.PreVote)]
    public void Follower_HeardFromLeaderRecently_IgnoresVoteRequest(MessageType type)
    {
        var cluster = TestCluster.Bootstrap(3);
        var term = cluster.Elect(1).Term;
        var node = cluster.Node(2);
        var last = node.Raft.LastIndex;
        var request = type == MessageType.Vote
            ? Build.Vote(3, 2, term + 1, last, term)
            : Build.PreVote(3, 2, term + 1, last, term);

        var sent = node.Step(request);

        Assert.Empty(sent);
        Assert.Equal((term, 1L), (node.Raft.Term, node.Raft.LeaderId));
    }

    [Fact]
    public void Follower_HeardFromLeaderRecently_GrantsVoteRequestOfLeadershipTransfer()
    {
        var cluster = TestCluster.Bootstrap(3);
        var term = cluster.Elect(1).Term;
        var node = cluster.Node(2);

        var sent = node.Step(Build.Vote(3, 2, term + 1, node.Raft.LastIndex, term, transfer: true));

        Assert.Contains(sent, m => m.Type == MessageType.VoteResponse && !m.Reject);
        Assert.Equal((term + 1, 3L), (node.Raft.Term, node.Raft.Vote));
    }

    [Fact]
    public void Follower_NotHeardFromLeaderForElectionTimeout_GrantsVoteRequest()
    {
        var cluster = TestCluster.Bootstrap(3);
        var term = cluster.Elect(1).Term;
        var node = cluster.Node(2);
        var last = node.Raft.LastIndex;
        for (var i = 0; i < ClusterOptions.ElectionTicks; i++)
        {
            node.Tick();
        }

        node.HandleReady();
        var sent = node.Step(Build.Vote(3, 2, node.Raft.Term + 1, last, term));

        Assert.Contains(sent, m => m.Type == MessageType.VoteResponse && !m.Reject);
    }
}
