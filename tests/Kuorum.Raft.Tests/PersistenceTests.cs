using Kuorum.Raft.Tests.Harness;

namespace Kuorum.Raft.Tests;

/// <summary>
/// Figure 2 "Persistent state" and the driver contract of <see cref="Ready"/>: what a message promises is in the
/// same Ready as the message, so it is durable before the message leaves; a restarted node keeps its promises.
/// </summary>
public sealed class PersistenceTests
{
    [Fact]
    public void Follower_GrantingVote_ReadyCarriesTheVoteWithTheResponse()
    {
        var node = new TestNode(ClusterOptions.Paper.ConfigFor(1), Build.State([1, 2, 3], term: 2, [1, 2]));
        node.HandleReady();

        node.Raft.Step(Build.Vote(2, 1, term: 3, lastIndex: 2, lastTerm: 2));
        var ready = node.Raft.GetReady();

        Assert.Contains(ready.Messages, m => m.Type == MessageType.VoteResponse && !m.Reject);
        Assert.Equal(new HardState(3, 2, 0), ready.HardState);
        Assert.True(ready.MustSync);
    }

    [Fact]
    public void Candidate_RequestingVotes_ReadyCarriesItsOwnVoteWithTheRequests()
    {
        var node = new TestNode(ClusterOptions.Paper.ConfigFor(1), Build.State([1, 2, 3], term: 2, [1, 2]));
        node.HandleReady();

        node.Raft.Campaign();
        var ready = node.Raft.GetReady();

        Assert.Equal(2, ready.Messages.Count(m => m.Type == MessageType.Vote));
        Assert.Equal(new HardState(3, 1, 0), ready.HardState);
    }

    [Fact]
    public void Follower_AcceptingAppend_ReadyCarriesTheEntriesWithTheAcknowledgement()
    {
        var node = new TestNode(ClusterOptions.Paper.ConfigFor(1), Build.State([1, 2, 3], term: 2, [1, 2]));
        node.HandleReady();
        var entries = Build.Entries(3, 2, 2);

        node.Raft.Step(Build.Append(2, 1, term: 2, prevIndex: 2, prevTerm: 2, entries, commit: 3));
        var ready = node.Raft.GetReady();

        Assert.Contains(ready.Messages, m => m.Type == MessageType.AppendResponse && !m.Reject && m.Index == 4);
        Assert.Equal(entries, ready.Entries);
        Assert.Equal(3, ready.HardState?.Commit);
        Assert.Equal([1L, 2, 3], ready.CommittedEntries.Select(e => e.Index));
    }

    [Fact]
    public void Leader_OwnEntry_CountsTowardsCommitOnlyOncePersisted()
    {
        var node = TestNode.Bootstrap(ClusterOptions.Paper.ConfigFor(1), [1]);
        node.Raft.Campaign();
        node.HandleReady();
        Assert.Equal(RaftRole.Leader, node.Raft.Role);

        var index = node.Raft.Propose(Build.Bytes("x")).Index;
        var ready = node.Raft.GetReady();

        Assert.Contains(ready.Entries, e => e.Index == index);
        Assert.DoesNotContain(ready.CommittedEntries, e => e.Index == index);
        Assert.True(node.Raft.CommitIndex < index);

        node.Raft.Advance(ready);

        Assert.Equal(index, node.Raft.CommitIndex);
    }

    [Fact]
    public void Restart_FromPersistedState_KeepsTermVoteLogAndCommit()
    {
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Paper);
        cluster.Elect(1);
        cluster.Propose(1, "a");
        cluster.Propose(1, "b");
        cluster.TickAll();
        var before = cluster[2].Status();
        var log = cluster.Node(2).Storage.Entries.ToList();
        var applied = cluster.Applied(2).Count;

        cluster.Crash(2);
        cluster.Restart(2);

        var after = cluster[2].Status();
        Assert.Equal((before.Term, before.Vote, before.LastIndex, before.Commit, before.Applied), (after.Term, after.Vote, after.LastIndex, after.Commit, after.Applied));
        Assert.Equal(1, after.Vote);
        Assert.Equal(log, cluster.Node(2).Storage.Entries);

        // Nothing is applied twice after the restart.
        cluster.Propose(1, "c");
        cluster.TickAll();
        Assert.Equal(applied + 1, cluster.Applied(2).Count);
        Assert.Equal("c", Build.Text(cluster.Applied(2)[^1]));
    }

    [Fact]
    public void Restart_AfterVoting_RefusesAnotherCandidateOfTheSameTerm()
    {
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Paper);
        cluster.Elect(1);
        var term = cluster[2].Term;
        Assert.Equal(1, cluster[2].Vote);

        cluster.Crash(2);
        cluster.Restart(2);
        var node = cluster.Node(2);
        var last = node.Raft.LastIndex;
        var lastTerm = node.Storage.TermAt(last)!.Value;

        var toThree = node.Step(Build.Vote(3, 2, term, last, lastTerm)).Single(m => m.Type == MessageType.VoteResponse);
        var toOne = node.Step(Build.Vote(1, 2, term, last, lastTerm)).Single(m => m.Type == MessageType.VoteResponse);

        Assert.True(toThree.Reject);
        Assert.False(toOne.Reject);
        Assert.Equal(1, node.Raft.Vote);
    }

    [Fact]
    public void Restart_WithCheckQuorum_IgnoresVoteRequestsForAnElectionTimeout()
    {
        // The node may have acknowledged a leader just before it crashed: that leader's lease must stay sound.
        var cluster = TestCluster.Bootstrap(3);
        cluster.Elect(1);
        cluster.Crash(2);
        cluster.Restart(2);
        var node = cluster.Node(2);
        var term = node.Raft.Term;
        var vote = Build.Vote(3, 2, term + 1, node.Raft.LastIndex, node.Storage.TermAt(node.Raft.LastIndex)!.Value);

        Assert.Empty(node.Step(vote));
        Assert.Equal(term, node.Raft.Term);

        for (var i = 0; i < ClusterOptions.ElectionTicks; i++)
        {
            node.Tick();
        }

        Assert.Contains(node.Step(vote), m => m.Type == MessageType.VoteResponse && !m.Reject);
        Assert.Equal(term + 1, node.Raft.Term);
    }

    [Fact]
    public void Restart_CrashedLeader_RejoinsAsFollowerAndCatchesUp()
    {
        var cluster = TestCluster.Bootstrap(3);
        cluster.Elect(1);
        cluster.Propose(1, "a");
        cluster.DeliverAll();

        cluster.Crash(1);
        cluster.Elect(2);
        cluster.Propose(2, "b");
        cluster.DeliverAll();
        cluster.Restart(1);
        cluster.TickAll(2);

        Assert.Equal(RaftRole.Follower, cluster[1].Role);
        Assert.Equal(2, cluster[1].LeaderId);
        Assert.Equal(cluster.Node(2).Storage.Entries, cluster.Node(1).Storage.Entries);
        Assert.Equal(["a", "b"], cluster.Applied(1).Where(e => e.Type == EntryType.Normal && !e.IsNoop).Select(Build.Text));
    }

    [Fact]
    public void AReadyThatOnlyMovesTheCommitIndex_NeedNotSync_ButOneWithEntriesOrAVoteMust()
    {
        var cluster = TestCluster.Bootstrap(3);
        cluster.Elect(1);
        cluster.Propose(1, "x");
        cluster.DeliverAll();

        // Every node has persisted the entry and learned the commit: each Ready that carried only the commit index
        // was marked as not needing a sync, and each with entries or a term/vote change was marked as needing one.
        var readies = cluster.Ids.SelectMany(id => cluster.Node(id).Readies).ToList();
        Assert.Contains(readies, r => r.HardState is not null && r.Entries.Count == 0 && r.Snapshot is null && !r.MustSync);
        Assert.All(readies.Where(r => r.Entries.Count > 0), r => Assert.True(r.MustSync));
        Assert.All(cluster.Ids, id => Assert.Equal(cluster[1].CommitIndex, cluster[id].CommitIndex));
    }
}
