using Kuorum.Raft.Tests.Harness;

namespace Kuorum.Raft.Tests;

/// <summary>
/// §5.4.2 and Figure 8: a leader never commits an entry of an earlier term by counting replicas; such entries
/// commit only together with an entry of the leader's own term. Indexes and terms are the figure's.
/// </summary>
public sealed class CommitRuleTests
{
    private static readonly long[] Voters = [1, 2, 3, 4, 5];

    /// <summary>
    /// Figure 8 (b) → (c): S1 led term 2 and wrote index 2; S5 led term 3 and wrote a different index 2; both crashed.
    /// S1 restarts and is elected for term 4 by S2 and S3 (S4 and S5 stay down), appends its term-4 entry at index 3,
    /// and replicates index 2 to S2 and S3. The network then loses S1's next Appends: this is (c).
    /// </summary>
    private static TestCluster Figure8C(bool unsafeCommitByCounting)
    {
        // One entry per Append, so S2 and S3 can hold index 2 without index 3, as in the figure.
        var options = ClusterOptions.Paper with { MaxAppendBytes = 1 };
        var cluster = TestCluster.FromStates(options, new Dictionary<long, RaftStorageState>
        {
            [1] = Build.State(Voters, term: 3, [1, 2], commit: 1),
            [2] = Build.State(Voters, term: 3, [1], commit: 1),
            [3] = Build.State(Voters, term: 3, [1], commit: 1),
            [4] = Build.State(Voters, term: 3, [1], commit: 1),
            [5] = Build.State(Voters, term: 3, [1, 3], commit: 1),
        });
        cluster[1].UnsafeCommitEarlierTermsByCounting = unsafeCommitByCounting;
        cluster.Crash(4);
        cluster.Crash(5);

        var s1 = cluster[1];
        s1.Campaign();
        cluster.DeliverUntil(() => s1.Role == RaftRole.Leader && s1.ProgressOf(2).Match == 2 && s1.ProgressOf(3).Match == 2);
        cluster.Isolate(1);
        cluster.DeliverAll();

        Assert.Equal(4, s1.Term);
        Assert.Equal([1L, 2, 4], cluster.Node(1).Storage.Entries.Select(e => e.Term));
        Assert.Equal([1L, 2], cluster.Node(2).Storage.Entries.Select(e => e.Term));
        Assert.Equal([1L, 2], cluster.Node(3).Storage.Entries.Select(e => e.Term));
        return cluster;
    }

    /// <summary>Figure 8 (d): S1 crashes; S5 is elected for term 5 by S2, S3 and S4 and replicates its own index 2.</summary>
    private static void Figure8D(TestCluster cluster)
    {
        cluster.Crash(1);
        cluster.Recover();
        cluster.Restart(4);
        cluster.Restart(5);
        cluster.Elect(5);
        cluster.TickAll();
    }

    [Fact]
    public void Leader_EntryOfEarlierTermOnMajority_IsNotCommittedByCountingReplicas()
    {
        var cluster = Figure8C(unsafeCommitByCounting: false);

        // Index 2 (term 2) is on S1, S2 and S3, a majority of five, yet it is not committed.
        Assert.Equal(1, cluster[1].CommitIndex);
        Assert.DoesNotContain(cluster.Applied(1), e => e.Index == 2);
    }

    [Fact]
    public void Leader_EntryOfEarlierTerm_CommitsOnceEntryOfItsOwnTermIsOnMajority()
    {
        var cluster = Figure8C(unsafeCommitByCounting: false);

        // Figure 8 (e): S1 stays up and gets its term-4 entry to S2 and S3; indexes 2 and 3 commit together.
        cluster.Recover();
        cluster.TickAll();

        Assert.Equal(3, cluster[1].CommitIndex);
        foreach (var id in new long[] { 1, 2, 3 })
        {
            Assert.Equal([(2L, 2L), (3L, 4L)], cluster.Applied(id).Select(e => (e.Index, e.Term)));
        }
    }

    [Fact]
    public void Figure8D_LeaderCrashesAtC_NewLeaderOverwritesUncommittedEntryAndNoAppliedEntryIsLost()
    {
        var cluster = Figure8C(unsafeCommitByCounting: false);

        Figure8D(cluster);

        // S5's index 2 (term 3) replaces S1's on S2 and S3. That is safe only because S1 never committed it.
        Assert.Equal(3, cluster.Node(2).Storage.TermAt(2));
        Assert.Contains(cluster.Applied(2), e => (e.Index, e.Term) == (2, 3));
        Assert.Null(cluster.FindAppliedConflict());
    }

    [Fact]
    public void Figure8_WithUnsafeCommitByCounting_LeaderCommitsEarlyAndAnAppliedEntryIsLaterOverwritten()
    {
        // The same scenario against a core that counts replicas of earlier-term entries: the tests above can fail.
        var cluster = Figure8C(unsafeCommitByCounting: true);

        Assert.Equal(2, cluster[1].CommitIndex);
        Assert.Contains(cluster.Applied(1), e => (e.Index, e.Term) == (2, 2));

        Figure8D(cluster);

        Assert.NotNull(cluster.FindAppliedConflict());
    }
}
