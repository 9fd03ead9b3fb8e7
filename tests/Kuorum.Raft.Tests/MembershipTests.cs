using Kuorum.Raft.Tests.Harness;

namespace Kuorum.Raft.Tests;

/// <summary>Single-server membership changes (§4.1 of the dissertation), learners, and removing the leader (§4.2.2).</summary>
public sealed class MembershipTests
{
    private static ConfChange AddLearner(long id) => new(ConfChangeType.AddLearner, id);

    private static ConfChange Promote(long id) => new(ConfChangeType.PromoteLearner, id);

    private static ConfChange Remove(long id) => new(ConfChangeType.RemoveMember, id);

    /// <summary>Voters 1..3 led by node 1, and node 4 added as a learner and caught up.</summary>
    private static TestCluster ClusterWithLearner4()
    {
        var cluster = TestCluster.Bootstrap(3);
        var leader = cluster.Elect(1);
        cluster.Propose(1, "before");
        cluster.DeliverAll();
        cluster.AddEmptyNode(4);
        Assert.True(leader.ProposeConfChange(AddLearner(4)).IsAccepted);
        cluster.DeliverAll();
        return cluster;
    }

    [Fact]
    public void AddLearner_ReceivesTheWholeLog()
    {
        var cluster = ClusterWithLearner4();

        Assert.Equal(cluster.Node(1).Storage.Entries, cluster.Node(4).Storage.Entries);
        Assert.Equal(cluster.Applied(1), cluster.Applied(4));
        Assert.All(cluster.Ids, id => Assert.Equal(new Membership([1, 2, 3], [4]), cluster[id].Membership));
    }

    [Fact]
    public void Learner_NeverCampaigns_EvenAfterManyElectionTimeoutsWithoutALeader()
    {
        var cluster = ClusterWithLearner4();

        cluster.Isolate(4);
        cluster.TickAll(10 * ClusterOptions.ElectionTicks);
        cluster[4].Campaign();
        cluster.DeliverAll();

        Assert.Equal(RaftRole.Follower, cluster[4].Role);
        Assert.DoesNotContain(cluster.Sent, m => m.From == 4 && m.Type is MessageType.PreVote or MessageType.Vote);
    }

    [Fact]
    public void Learner_DoesNotCountInQuorum()
    {
        var cluster = ClusterWithLearner4();
        var leader = cluster[1];
        cluster.Crash(2);
        cluster.Crash(3);

        var index = cluster.Propose(1, "x").Index;
        cluster.DeliverAll();

        Assert.Equal(index, cluster[4].LastIndex);
        Assert.True(leader.CommitIndex < index, "committed with one voter of three and a learner");
    }

    [Fact]
    public void PromoteLearner_NotCaughtUp_IsBusy_ThenAcceptedOnceCaughtUp()
    {
        var cluster = TestCluster.Bootstrap(3);
        var leader = cluster.Elect(1);
        cluster.AddEmptyNode(4);
        cluster.Isolate(4);
        leader.ProposeConfChange(AddLearner(4));
        cluster.DeliverAll();

        var refused = leader.ProposeConfChange(Promote(4));
        Assert.Equal(ProposalStatus.Busy, refused.Status);
        Assert.Contains("learner 4 has not caught up", refused.Error);

        cluster.Recover();
        cluster.TickAll();
        var accepted = leader.ProposeConfChange(Promote(4));
        cluster.DeliverAll();

        Assert.True(accepted.IsAccepted);
        Assert.Equal(accepted.Index, leader.CommitIndex);
        Assert.All(cluster.Ids, id => Assert.Equal(new Membership([1, 2, 3, 4]), cluster[id].Membership));

        // Four voters: a quorum is three.
        cluster.Crash(3);
        cluster.Crash(4);
        var index = cluster.Propose(1, "x").Index;
        cluster.DeliverAll();
        Assert.True(leader.CommitIndex < index);
    }

    [Theory]
    [InlineData(0, ProposalStatus.Busy)]
    [InlineData(5, ProposalStatus.Accepted)]
    public void PromoteLearner_ReplicatingButLagging_DependsOnMaxPromotionLag(long maxLag, ProposalStatus expected)
    {
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Default with { MaxPromotionLag = maxLag });
        var leader = cluster.Elect(1);
        cluster.AddEmptyNode(4);
        leader.ProposeConfChange(AddLearner(4));
        cluster.DeliverAll();
        Assert.Equal(ReplicationState.Replicate, leader.ProgressOf(4).State);

        // Two entries commit while the learner's copies are lost: it replicates, two entries behind.
        cluster.Isolate(4);
        cluster.Propose(1, "x");
        cluster.Propose(1, "y");
        cluster.DeliverAll();
        Assert.Equal(leader.CommitIndex - 2, leader.ProgressOf(4).Match);

        Assert.Equal(expected, leader.ProposeConfChange(Promote(4)).Status);
    }

    [Fact]
    public void ConfChange_WhileAnotherIsUncommitted_IsBusy()
    {
        var cluster = TestCluster.Bootstrap(3);
        var leader = cluster.Elect(1);

        Assert.True(leader.ProposeConfChange(AddLearner(4)).IsAccepted);
        var second = leader.ProposeConfChange(AddLearner(5));

        Assert.Equal(ProposalStatus.Busy, second.Status);
        Assert.Contains("not committed", second.Error);
        cluster.DeliverAll();
        Assert.True(leader.ProposeConfChange(AddLearner(5)).IsAccepted);
    }

    [Fact]
    public void NewLeader_ConfChangeBeforeCommittingEntryOfItsTerm_IsBusy()
    {
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Paper);
        var leader = cluster[1];
        leader.Campaign();
        cluster.DeliverUntil(() => leader.Role == RaftRole.Leader);

        var early = leader.ProposeConfChange(AddLearner(4));

        Assert.Equal(ProposalStatus.Busy, early.Status);
        Assert.Contains($"has not committed an entry of term {leader.Term}", early.Error);
        cluster.DeliverAll();
        Assert.True(leader.ProposeConfChange(AddLearner(4)).IsAccepted);
    }

    [Fact]
    public void RemoveFollower_ClusterCommitsWithoutIt()
    {
        var cluster = TestCluster.Bootstrap(3);
        var leader = cluster.Elect(1);

        var removal = leader.ProposeConfChange(Remove(3));
        cluster.DeliverAll();
        Assert.Equal(removal.Index, leader.CommitIndex);
        cluster.Crash(3);

        var index = cluster.Propose(1, "x").Index;
        cluster.TickAll(3 * ClusterOptions.ElectionTicks);

        Assert.Equal(new Membership([1, 2]), leader.Membership);
        Assert.DoesNotContain(leader.Status().Progress, p => p.Id == 3);
        Assert.Same(leader, cluster.Leader);
        Assert.True(leader.CommitIndex >= index);
        Assert.Equal("x", Build.Text(cluster.Applied(2)[^1]));
    }

    [Fact]
    public void RemoveLeader_StepsDownOnceCommittedAndRemainingVotersElectLeaderThatCommits()
    {
        var cluster = TestCluster.Bootstrap(3);
        var old = cluster.Elect(1);
        var term = old.Term;
        var sentBefore = cluster.Sent.Count;

        var removal = old.ProposeConfChange(Remove(1));
        Assert.Equal(RaftRole.Leader, old.Role);
        cluster.DeliverAll();
        Assert.True(old.CommitIndex >= removal.Index);
        Assert.NotEqual(RaftRole.Leader, old.Role);

        cluster.TickAll(3 * ClusterOptions.ElectionTicks);

        var leader = cluster.Leader!;
        Assert.Contains(leader.Id, new long[] { 2, 3 });
        Assert.True(leader.Term > term);
        Assert.Equal(new Membership([2, 3]), leader.Membership);
        var index = cluster.Propose(leader.Id, "x").Index;
        cluster.DeliverAll();
        Assert.Equal(index, cluster[2].CommitIndex);
        Assert.Equal(index, cluster[3].CommitIndex);
        Assert.DoesNotContain(cluster.Sent.Skip(sentBefore), m => m.From == 1 && m.Type is MessageType.PreVote or MessageType.Vote);
    }

    [Theory]
    [InlineData(ConfChangeType.AddLearner, 2, "node 2 is already a member")]
    [InlineData(ConfChangeType.PromoteLearner, 2, "node 2 is not a learner")]
    [InlineData(ConfChangeType.PromoteLearner, 9, "node 9 is not a learner")]
    [InlineData(ConfChangeType.RemoveMember, 9, "node 9 is not a member")]
    public void ConfChange_Invalid_IsRefusedNamingTheNode(ConfChangeType type, long node, string error)
    {
        var cluster = TestCluster.Bootstrap(3);
        var leader = cluster.Elect(1);
        var last = leader.LastIndex;

        var result = leader.ProposeConfChange(new ConfChange(type, node));

        Assert.Equal(ProposalStatus.Invalid, result.Status);
        Assert.Contains(error, result.Error);
        Assert.Equal(last, leader.LastIndex);
    }

    [Fact]
    public void ConfChange_RemovingTheLastVoter_IsInvalid()
    {
        var cluster = TestCluster.Bootstrap(1);
        var leader = cluster.Elect(1);

        var result = leader.ProposeConfChange(Remove(1));

        Assert.Equal(ProposalStatus.Invalid, result.Status);
        Assert.Contains("last voter", result.Error);
    }

    [Fact]
    public void ConfChange_OnFollower_IsRefusedWithLeaderHint()
    {
        var cluster = TestCluster.Bootstrap(3);
        cluster.Elect(1);

        var result = cluster[2].ProposeConfChange(AddLearner(4));

        Assert.Equal((ProposalStatus.NotLeader, 1L), (result.Status, result.LeaderHint));
    }
}
