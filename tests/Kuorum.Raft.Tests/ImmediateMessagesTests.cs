using Kuorum.Raft.Tests.Harness;

namespace Kuorum.Raft.Tests;

/// <summary>
/// <see cref="Ready.ImmediateMessages"/> (Raft thesis §10.2.1): a leader's appends may leave before its own write is
/// durable, so the followers' syncs overlap the leader's. Which messages may do so, and that the leader's own copy
/// counts towards a commit only once <see cref="RaftNode.Advance"/> says it is durable.
/// </summary>
public sealed class ImmediateMessagesTests
{
    private static readonly long[] Three = [1, 2, 3];

    [Fact]
    public void Leader_AppendsAndHeartbeats_LeaveBeforeItsReadyIsPersisted()
    {
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Paper);
        var leader = cluster.Elect(1);
        cluster.DeliverAll();

        var index = cluster.Propose(1, "x").Index;
        leader.Tick();
        var ready = cluster.StartReady(1);

        Assert.Contains(ready.Entries, e => e.Index == index);
        Assert.Equal([2L, 3], ready.ImmediateMessages
            .Where(m => m.Type == MessageType.Append && m.Entries.Any(e => e.Index == index)).Select(m => m.To).Order());
        Assert.Equal([2L, 3], ready.ImmediateMessages.Where(m => m.Type == MessageType.Heartbeat).Select(m => m.To).Order());
        Assert.DoesNotContain(ready.Messages, m => m.Type is MessageType.Append or MessageType.Heartbeat);
        // On the wire before anything of the Ready is on the leader's disk.
        Assert.DoesNotContain(cluster.Node(1).Storage.Entries, e => e.Index == index);
        Assert.Contains(cluster.InFlight, m => m.Type == MessageType.Append && m.Entries.Any(e => e.Index == index));

        cluster.FinishReady(1);
        cluster.DeliverAll();

        Assert.All(cluster.Ids, id => Assert.Contains(cluster.Applied(id), e => e.Index == index && Build.Text(e) == "x"));
    }

    [Fact]
    public void Follower_AppendAndHeartbeatResponses_WaitForPersistence()
    {
        var node = new TestNode(ClusterOptions.Paper.ConfigFor(1), Build.State(Three, term: 2, [1, 2]));
        node.HandleReady();

        node.Raft.Step(Build.Append(2, 1, term: 2, prevIndex: 2, prevTerm: 2, Build.Entries(3, 2, 2), commit: 3));
        node.Raft.Step(Build.Heartbeat(2, 1, term: 2, commit: 3));
        var ready = node.Raft.GetReady();

        Assert.Empty(ready.ImmediateMessages);
        Assert.Contains(ready.Messages, m => m is { Type: MessageType.AppendResponse, Reject: false, Index: 4 });
        Assert.Contains(ready.Messages, m => m.Type == MessageType.HeartbeatResponse);
    }

    [Fact]
    public void Candidate_VoteAndPreVoteRequests_WaitForPersistence()
    {
        var candidate = new TestNode(ClusterOptions.Paper.ConfigFor(1), Build.State(Three, term: 2, [1, 2]));
        candidate.HandleReady();
        var preCandidate = new TestNode(ClusterOptions.Default.ConfigFor(1), Build.State(Three, term: 2, [1, 2]));
        preCandidate.HandleReady();

        candidate.Raft.Campaign();
        preCandidate.Raft.Campaign();
        var votes = candidate.Raft.GetReady();
        var preVotes = preCandidate.Raft.GetReady();

        Assert.Empty(votes.ImmediateMessages);
        Assert.Equal(2, votes.Messages.Count(m => m.Type == MessageType.Vote));
        Assert.Equal(new HardState(3, 1, 0), votes.HardState);
        Assert.Empty(preVotes.ImmediateMessages);
        Assert.Equal(2, preVotes.Messages.Count(m => m.Type == MessageType.PreVote));
    }

    [Fact]
    public void VoteResponses_GrantedOrRefused_WaitForPersistence()
    {
        var voter = new TestNode(ClusterOptions.Paper.ConfigFor(1), Build.State(Three, term: 2, [1, 2]));
        voter.HandleReady();

        voter.Raft.Step(Build.Vote(2, 1, term: 3, lastIndex: 2, lastTerm: 2));
        voter.Raft.Step(Build.Vote(3, 1, term: 3, lastIndex: 2, lastTerm: 2));
        var ready = voter.Raft.GetReady();

        Assert.Empty(ready.ImmediateMessages);
        Assert.Contains(ready.Messages, m => m is { Type: MessageType.VoteResponse, To: 2, Reject: false });
        Assert.Contains(ready.Messages, m => m is { Type: MessageType.VoteResponse, To: 3, Reject: true });
    }

    [Fact]
    public void Leader_ItsOwnAnswers_WaitForPersistence()
    {
        // A leader also answers: a refused vote request of its own term, and a stale leader's append (with its
        // term, so the stale one steps down). Answers are never immediate, whoever sends them.
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Paper);
        var leader = cluster.Elect(1);
        cluster.DeliverAll();

        leader.Step(Build.Vote(2, 1, leader.Term, lastIndex: 100, lastTerm: leader.Term));
        leader.Step(Build.Append(3, 1, leader.Term - 1, prevIndex: 1, prevTerm: 1, []));
        var ready = leader.GetReady();

        Assert.Empty(ready.ImmediateMessages);
        Assert.Contains(ready.Messages, m => m is { Type: MessageType.VoteResponse, To: 2, Reject: true });
        Assert.Contains(ready.Messages, m => m is { Type: MessageType.AppendResponse, To: 3 });
    }

    [Fact]
    public void Leader_TimeoutNowAndReadIndexAnswers_AreImmediate_AFollowersReadIndexRequestIsNot()
    {
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Paper);
        var leader = cluster.Elect(1);
        cluster.DeliverAll();

        Assert.True(cluster[2].ReadIndex(77).IsAccepted);
        var request = cluster.StartReady(2);
        Assert.Empty(request.ImmediateMessages);
        Assert.Contains(request.Messages, m => m is { Type: MessageType.ReadIndex, To: 1, Context: 77 });
        cluster.FinishReady(2);
        cluster.DeliverAll();

        Assert.Contains(cluster.Node(1).Readies, r => r.ImmediateMessages.Any(m => m is { Type: MessageType.ReadIndexResponse, To: 2, Context: 77, Reject: false }));
        Assert.Contains(cluster.Node(2).ReadStates, r => r.Context == 77);

        leader.TransferLeadership(2);
        var transfer = cluster.StartReady(1);

        Assert.Contains(transfer.ImmediateMessages, m => m is { Type: MessageType.TimeoutNow, To: 2 });
        cluster.FinishReady(1);
        cluster.DeliverAll();
        Assert.Same(cluster[2], cluster.Leader);
    }

    [Fact]
    public void SingleVoter_ElectedInTheStepThatRaisedItsTerm_SendsToItsLearnerOnlyAfterPersistingTheTerm()
    {
        // A lone voter wins its election at once, in a term not yet on its disk. Its appends carry that term, so they
        // wait for the Ready that makes it durable: were they to leave and the node crash, it would restart in the
        // old term and could lead the same term a second time. (A new leader's first appends are probes carrying
        // only its no-op, which a second incarnation would write alike, so this is defence in depth.)
        var cluster = OneVoterAndALearner();
        var leader = cluster[1];

        leader.Campaign();
        Assert.Equal(RaftRole.Leader, leader.Role);
        var first = cluster.StartReady(1);

        Assert.Equal(2, first.HardState?.Term);
        Assert.Equal(1, cluster.Node(1).Storage.HardState.Term);
        Assert.Empty(first.ImmediateMessages);
        Assert.Contains(first.Messages, m => m is { Type: MessageType.Append, To: 2 });

        cluster.FinishReady(1);
        cluster.DeliverAll();
        var index = cluster.Propose(1, "x").Index;
        var second = cluster.StartReady(1);

        // The term is durable now: the leader's appends leave at once.
        Assert.Contains(second.ImmediateMessages, m => m.Type == MessageType.Append && m.To == 2 && m.Entries.Any(e => e.Index == index));
        cluster.FinishReady(1);
        cluster.DeliverAll();
        Assert.Contains(cluster.Applied(2), e => e.Index == index && Build.Text(e) == "x");
    }

    [Fact]
    public void Leader_EntriesNotYetDurable_OneFollowerAckDoesNotCommit_TwoFollowerAcksDo()
    {
        // The rule: an entry commits once it is durable on a quorum of voters. A follower acknowledges only after
        // its own sync, so its ack counts at once; the leader's copy counts only after its Advance. With 3 voters
        // (quorum 2) and the leader's write still in flight, one follower's ack is one durable copy: no commit. Both
        // followers' acks are two durable copies, a quorum without the leader, so the entry commits even before the
        // leader's own write completes (as in etcd-io/raft). That is safe: a crash of the leader now loses only its
        // own copy, and no later leader can be elected without the entry.
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Paper);
        var leader = cluster.Elect(1);
        cluster.DeliverAll();
        var before = leader.CommitIndex;

        var index = cluster.Propose(1, "x").Index;
        cluster.StartReady(1);
        cluster.DeliverUntil(() => !cluster.InFlight.Any(m => m.Type == MessageType.Append));
        Assert.Equal(2, cluster.InFlight.Count(m => m is { Type: MessageType.AppendResponse, Reject: false } && m.Index == index));

        cluster.DeliverOne();
        Assert.Equal(before, leader.CommitIndex);

        cluster.DeliverOne();
        Assert.Equal(index, leader.CommitIndex);
        Assert.DoesNotContain(cluster.Node(1).Storage.Entries, e => e.Index == index);

        cluster.FinishReady(1);
        cluster.DeliverAll();
        Assert.All(cluster.Ids, id => Assert.Contains(cluster.Applied(id), e => e.Index == index && Build.Text(e) == "x"));
    }

    [Fact]
    public void Leader_OneFollowerAck_CommitsOnceTheLeadersOwnAdvanceSaysItsCopyIsDurable()
    {
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Paper);
        var leader = cluster.Elect(1);
        cluster.DeliverAll();
        cluster.Cut(1, 3);
        var before = leader.CommitIndex;

        var index = cluster.Propose(1, "x").Index;
        cluster.StartReady(1);
        cluster.DeliverAll();
        Assert.Equal(index, leader.ProgressOf(2).Match);
        Assert.Equal(before, leader.CommitIndex);

        cluster.FinishReady(1);

        Assert.Equal(index, leader.CommitIndex);
    }

    [Fact]
    public void Leader_WithUnsafeCountUnpersistedOwnEntries_CommitsOnOneFollowerAckWhileItsOwnCopyIsNotDurable()
    {
        // The injected fault: the test above fails against it. One durable copy (the follower's) is not a quorum.
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Paper);
        var leader = cluster.Elect(1);
        cluster.DeliverAll();
        cluster.Cut(1, 3);
        leader.UnsafeCountUnpersistedOwnEntries = true;

        var index = cluster.Propose(1, "x").Index;
        cluster.StartReady(1);
        cluster.DeliverAll();

        Assert.Equal(index, leader.CommitIndex);
        Assert.DoesNotContain(cluster.Node(1).Storage.Entries, e => e.Index == index);
    }

    [Fact]
    public void Leader_CrashesAfterSendingItsAppendsBeforePersisting_TheFollowersKeepTheEntryAndAllAgree()
    {
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Paper);
        cluster.Elect(1);
        cluster.DeliverAll();

        var index = cluster.Propose(1, "x").Index;
        cluster.CrashAfterImmediateMessages(1);
        cluster.DeliverAll();

        Assert.DoesNotContain(cluster.Node(1).Storage.Entries, e => e.Index == index);
        Assert.All(new long[] { 2, 3 }, id => Assert.Equal("x", Build.Text(cluster.Node(id).Storage.EntryAt(index)!)));

        // Durable on 2 and 3, a quorum: whoever leads next holds it and commits it.
        cluster.Elect(2);
        cluster.Restart(1);
        cluster.TickAll(3);

        Assert.All(cluster.Ids, id => Assert.Contains(cluster.Applied(id), e => e.Index == index && Build.Text(e) == "x"));
        Assert.Null(cluster.FindAppliedConflict());
    }

    [Fact]
    public void Leader_CrashesAfterSendingItsAppendToOneFollower_TheEntryIsLostButNeverConflicts()
    {
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Paper);
        cluster.Elect(1);
        cluster.DeliverAll();
        cluster.Cut(1, 3);

        var index = cluster.Propose(1, "x").Index;
        cluster.CrashAfterImmediateMessages(1);
        cluster.DeliverAll();
        cluster.Recover();
        Assert.Equal("x", Build.Text(cluster.Node(2).Storage.EntryAt(index)!));

        // Only node 2 holds x, which is not a quorum: x was never committed. Nodes 1 and 3 lack it and elect 3,
        // whose own entries replace x on node 2.
        cluster.Restart(1);
        cluster.Elect(3);
        cluster.Propose(3, "y");
        cluster.TickAll(3);

        Assert.Null(cluster.FindAppliedConflict());
        Assert.All(cluster.Ids, id => Assert.Equal(cluster.Node(3).Storage.Entries, cluster.Node(id).Storage.Entries));
        Assert.All(cluster.Ids, id => Assert.DoesNotContain(cluster.Applied(id), e => Build.Text(e) == "x"));
        Assert.All(cluster.Ids, id => Assert.Contains(cluster.Applied(id), e => Build.Text(e) == "y"));
    }

    private static TestCluster OneVoterAndALearner()
    {
        long[] voters = [1];
        long[] learners = [2];
        var cluster = TestCluster.FromStates(ClusterOptions.Paper, new Dictionary<long, RaftStorageState>
        {
            [1] = Build.State(voters, term: 1, [1], commit: 1, learners: learners),
            [2] = Build.State(voters, term: 1, [1], commit: 1, learners: learners),
        });
        return cluster;
    }
}
