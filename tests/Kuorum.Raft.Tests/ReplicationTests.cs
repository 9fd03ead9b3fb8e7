using Kuorum.Raft.Tests.Harness;

namespace Kuorum.Raft.Tests;

/// <summary>AppendEntries receiver rules (Figure 2, §5.3), commitment (§5.3, §5.4.2) and the Log Matching / State Machine Safety properties.</summary>
public sealed class ReplicationTests
{
    // A follower of term 2 following node 2, with log [1@1, 2@1, 3@2, 4@2], of which index 1 is committed.
    private static TestNode Follower()
    {
        var node = new TestNode(ClusterOptions.Paper.ConfigFor(1), Build.State([1, 2, 3], term: 2, [1, 1, 2, 2], commit: 1));
        node.Step(Build.Heartbeat(2, 1, term: 2, commit: 1));
        return node;
    }

    private static Message AppendAnswer(List<Message> sent) => sent.Single(m => m.Type == MessageType.AppendResponse);

    private static long[] Terms(TestNode node) => node.Storage.Entries.Select(e => e.Term).ToArray();

    [Theory]
    [InlineData(3, 1)] // an entry at 3, but of term 2
    [InlineData(4, 3)] // an entry at 4, but of term 2
    [InlineData(6, 2)] // no entry at 6 at all
    public void Follower_AppendWhosePrevEntryDoesNotMatch_IsRejectedAndLogUnchanged(long prevIndex, long prevTerm)
    {
        var node = Follower();

        var answer = AppendAnswer(node.Step(Build.Append(2, 1, term: 3, prevIndex, prevTerm, Build.Entries(prevIndex + 1, 3), commit: 4)));

        Assert.True(answer.Reject);
        Assert.Equal(prevIndex, answer.Index);
        Assert.Equal([1L, 1, 2, 2], Terms(node));
        Assert.Equal(1, node.Raft.CommitIndex);
    }

    [Fact]
    public void Follower_AppendWhosePrevEntryMatches_AppendsAndAcknowledgesLastNewIndex()
    {
        var node = Follower();

        var answer = AppendAnswer(node.Step(Build.Append(2, 1, term: 2, prevIndex: 4, prevTerm: 2, Build.Entries(5, 2, 2))));

        Assert.False(answer.Reject);
        Assert.Equal(6, answer.Index);
        Assert.Equal([1L, 1, 2, 2, 2, 2], Terms(node));
    }

    [Fact]
    public void Follower_ConflictingSuffix_IsDeletedAndReplacedByLeaderEntries()
    {
        var node = Follower();

        // The leader of term 3 holds 3@3: the follower's 3@2 and everything after it must go.
        var answer = AppendAnswer(node.Step(Build.Append(3, 1, term: 3, prevIndex: 2, prevTerm: 1, Build.Entries(3, 3))));

        Assert.False(answer.Reject);
        Assert.Equal(3, answer.Index);
        Assert.Equal([1L, 1, 3], Terms(node));
        Assert.Equal(3, node.Raft.LastIndex);
    }

    [Fact]
    public void Follower_AppendOfEntriesItAlreadyHolds_KeepsTheEntriesAfterThem()
    {
        var node = Follower();

        // A delayed, duplicate Append must not truncate what later Appends added.
        var answer = AppendAnswer(node.Step(Build.Append(2, 1, term: 2, prevIndex: 1, prevTerm: 1, Build.Entries(2, 1, 2))));

        Assert.False(answer.Reject);
        Assert.Equal(3, answer.Index);
        Assert.Equal([1L, 1, 2, 2], Terms(node));
    }

    [Theory]
    [InlineData(1, 0, 4, 1)] // no new entries: only up to the matching prev entry
    [InlineData(1, 1, 4, 2)] // one new entry: up to it, even though the leader committed more
    [InlineData(1, 3, 2, 2)] // the leader's commit is the lower bound
    [InlineData(1, 3, 9, 4)] // both bound it: the last new entry is 4
    public void Follower_CommitIndex_AdvancesToMinOfLeaderCommitAndLastNewEntry(long prevIndex, int newEntries, long leaderCommit, long expectedCommit)
    {
        var node = Follower();
        var entries = Build.Entries(prevIndex + 1, [.. new long[] { 1, 2, 2 }.Take(newEntries)]);

        node.Step(Build.Append(2, 1, term: 2, prevIndex, prevTerm: 1, entries, leaderCommit));

        Assert.Equal(expectedCommit, node.Raft.CommitIndex);
        Assert.Equal(expectedCommit, node.Storage.HardState.Commit);
        Assert.Equal(expectedCommit, node.AppliedIndex);
    }

    [Fact]
    public void Leader_EntryStoredOnMajority_IsCommittedAndAppliedByFollowers()
    {
        var cluster = TestCluster.Bootstrap(5, ClusterOptions.Paper);
        var leader = cluster.Elect(1);
        cluster.Isolate(3);
        cluster.Isolate(4);
        cluster.Isolate(5);

        var index = cluster.Propose(1, "x").Index;
        cluster.DeliverAll();
        Assert.True(leader.CommitIndex < index, "committed on two of five");

        // A third copy makes a majority.
        cluster.Recover();
        cluster.Isolate(4);
        cluster.Isolate(5);
        cluster.TickAll();

        Assert.Equal(index, leader.CommitIndex);
        foreach (var id in new long[] { 1, 2, 3 })
        {
            Assert.Equal("x", Build.Text(cluster.Applied(id)[^1]));
        }

        Assert.DoesNotContain(cluster.Applied(4), e => e.Index == index);
    }

    [Fact]
    public void Leader_LogIsAppendOnly_AppendsFromOthersNeverOverwriteIt()
    {
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Paper);
        var leader = cluster.Elect(1);
        var node = cluster.Node(1);
        var readiesBefore = node.Readies.Count;
        var lastBefore = node.Storage.LastIndex;
        cluster.Isolate(1);
        cluster.Propose(1, "a");
        cluster.Propose(1, "b");
        cluster.DeliverAll();
        var logBefore = node.Storage.Entries.ToList();
        var term = leader.Term;
        var prevIndex = lastBefore - 1;
        var prevTerm = node.Storage.TermAt(prevIndex)!.Value;

        // An old leader of the previous term, and an impostor of this one, send entries that conflict from the no-op on.
        node.Step(Build.Append(2, 1, term - 1, prevIndex, prevTerm, Build.Entries(lastBefore, term - 1, term - 1, term - 1, term - 1), commit: lastBefore + 3));
        node.Step(Build.Append(3, 1, term, prevIndex, prevTerm, Build.Entries(lastBefore, term, term, term, term), commit: lastBefore + 3));

        Assert.Equal(RaftRole.Leader, leader.Role);
        Assert.Equal(logBefore, node.Storage.Entries);
        var last = lastBefore;
        foreach (var ready in node.Readies.Skip(readiesBefore).Where(r => r.Entries.Count > 0))
        {
            Assert.Equal(last + 1, ready.Entries[0].Index);
            last = ready.Entries[^1].Index;
        }
    }

    [Fact]
    public void Follower_LongConflictingLog_ConvergesInOneRejectionPerConflictingTerm()
    {
        // Figure 7 (f)-like: the follower holds 30 entries of terms 2, 4 and 6 that the leader (terms 3, 5 and 7) never had.
        long[] leaderLog = [1, .. Build.Run(3, 10), .. Build.Run(5, 10), .. Build.Run(7, 10)];
        long[] followerLog = [1, .. Build.Run(2, 10), .. Build.Run(4, 10), .. Build.Run(6, 10)];
        var cluster = TestCluster.FromStates(ClusterOptions.Paper, new Dictionary<long, RaftStorageState>
        {
            [1] = Build.State([1, 2, 3], term: 7, leaderLog, commit: 1),
            [2] = Build.State([1, 2, 3], term: 7, followerLog, commit: 1),
            [3] = Build.State([1, 2, 3], term: 7, leaderLog, commit: 1),
        });

        cluster.Elect(1);

        var rejections = cluster.Delivered.Count(m => m.Type == MessageType.AppendResponse && m.Reject && m.From == 2);
        Assert.Equal(3, rejections);
        Assert.Equal(cluster.Node(1).Storage.Entries, cluster.Node(2).Storage.Entries);
        Assert.Equal(cluster[1].CommitIndex, cluster[2].CommitIndex);
    }

    [Fact]
    public void Follower_LongConflictingTailOfOneTerm_ConvergesInOneRejection()
    {
        long[] followerLog = [1, .. Build.Run(2, 50)];
        var cluster = TestCluster.FromStates(ClusterOptions.Paper, new Dictionary<long, RaftStorageState>
        {
            [1] = Build.State([1, 2, 3], term: 3, [1, 3, 3, 3], commit: 1),
            [2] = Build.State([1, 2, 3], term: 3, followerLog, commit: 1),
            [3] = Build.State([1, 2, 3], term: 3, [1, 3, 3, 3], commit: 1),
        });

        cluster.Elect(1);

        Assert.Equal(1, cluster.Delivered.Count(m => m.Type == MessageType.AppendResponse && m.Reject && m.From == 2));
        Assert.Equal(cluster.Node(1).Storage.Entries, cluster.Node(2).Storage.Entries);
    }

    [Fact]
    public void Cluster_ThroughCrashesAndLeaderChanges_AppliesEveryEntryInOrderExactlyOnceEverywhere()
    {
        var cluster = TestCluster.Bootstrap(3);
        cluster.Elect(1);
        cluster.Propose(1, "a");
        cluster.DeliverAll();

        cluster.Crash(1);
        cluster.Elect(2);
        cluster.Propose(2, "b");
        cluster.DeliverAll();
        cluster.Crash(3);
        cluster.Restart(1);
        cluster.Propose(2, "c");
        cluster.DeliverAll();
        cluster.Restart(3);
        cluster.Elect(3);
        cluster.Propose(3, "d");
        cluster.TickAll(3);

        Assert.Null(cluster.FindAppliedConflict());
        foreach (var id in cluster.Ids)
        {
            var applied = cluster.Applied(id);
            Assert.Equal(Enumerable.Range(1, applied.Count).Select(i => (long)i), applied.Select(e => e.Index));
            Assert.Equal(["a", "b", "c", "d"], applied.Where(e => e.Type == EntryType.Normal && !e.IsNoop).Select(Build.Text));
            Assert.Equal(cluster[3].CommitIndex, cluster.Node(id).AppliedIndex);
        }
    }
}
