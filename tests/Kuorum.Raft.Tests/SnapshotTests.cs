using Kuorum.Raft.Tests.Harness;

namespace Kuorum.Raft.Tests;

/// <summary>Log compaction and InstallSnapshot in chunks (§7).</summary>
public sealed class SnapshotTests
{
    private static readonly byte[] SnapshotBytes = Build.Bytes("state-after-a-to-e");

    private static IEnumerable<string> AppliedTexts(TestCluster cluster, long id) =>
        cluster.Applied(id).Where(e => e.Type == EntryType.Normal && !e.IsNoop).Select(Build.Text);

    /// <summary>
    /// Node 3 misses "a".."e"; the leader compacts its log past them and then takes "f" and "g". Node 3 can only
    /// catch up from the snapshot, which travels in chunks of 4 bytes.
    /// </summary>
    private static (TestCluster Cluster, SnapshotMetadata Snapshot) FollowerBehindCompactedLog()
    {
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Default with { SnapshotChunkBytes = 4 });
        var leader = cluster.Elect(1);
        cluster.Isolate(3);
        foreach (var text in new[] { "a", "b", "c", "d", "e" })
        {
            cluster.Propose(1, text);
        }

        cluster.DeliverAll();
        var snapshot = cluster.Compact(1, leader.AppliedIndex, SnapshotBytes);
        cluster.Propose(1, "f");
        cluster.Propose(1, "g");
        cluster.DeliverAll();
        Assert.True(cluster[3].LastIndex < snapshot.Index);
        return (cluster, snapshot);
    }

    [Fact]
    public void Snapshot_LaggingFollower_ReceivesItInChunksInstallsItThenGetsRemainingEntries()
    {
        var (cluster, snapshot) = FollowerBehindCompactedLog();

        cluster.Recover();
        cluster.TickAll();

        var chunks = cluster.Delivered.Where(m => m.Type == MessageType.InstallSnapshot && m.To == 3).ToList();
        Assert.Equal([0L, 4, 8, 12, 16], chunks.Select(m => m.Offset));
        Assert.Equal([false, false, false, false, true], chunks.Select(m => m.Done));
        var installed = Assert.Single(cluster.Node(3).InstalledSnapshots);
        Assert.Equal(snapshot, installed.Metadata);
        Assert.Equal(SnapshotBytes, installed.Data.ToArray());
        Assert.Equal(snapshot.Index, cluster.Node(3).Storage.Snapshot.Index);
        Assert.Equal(["f", "g"], AppliedTexts(cluster, 3));
        Assert.Equal(cluster[1].CommitIndex, cluster.Node(3).AppliedIndex);
        Assert.Equal(cluster.Node(1).Storage.Entries, cluster.Node(3).Storage.Entries);
    }

    [Fact]
    public void Snapshot_LostChunk_IsSentAgainAfterNextHeartbeat()
    {
        var (cluster, snapshot) = FollowerBehindCompactedLog();
        cluster.Recover();
        cluster.DropNext(m => m.Type == MessageType.InstallSnapshot && m.Offset == 8);

        cluster.TickAll();

        Assert.Empty(cluster.Node(3).InstalledSnapshots);
        Assert.Single(cluster.Dropped, m => m.Type == MessageType.InstallSnapshot);

        cluster.TickAll();

        var installed = Assert.Single(cluster.Node(3).InstalledSnapshots);
        Assert.Equal(snapshot, installed.Metadata);
        Assert.Equal(SnapshotBytes, installed.Data.ToArray());
        Assert.Equal(["f", "g"], AppliedTexts(cluster, 3));
    }

    [Fact]
    public void Snapshot_Installed_SurvivesRestart()
    {
        var (cluster, snapshot) = FollowerBehindCompactedLog();
        cluster.Recover();
        cluster.TickAll();
        var before = cluster[3].Status();

        cluster.Crash(3);
        cluster.Restart(3);

        var after = cluster[3].Status();
        Assert.Equal((snapshot.Index, before.LastIndex, before.Commit, before.Term), (after.SnapshotIndex, after.LastIndex, after.Commit, after.Term));
        Assert.Equal(snapshot.Membership, after.Membership);
    }

    [Fact]
    public void Snapshot_NewLearner_CatchesUpFromSnapshotThenLog()
    {
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Default with { SnapshotChunkBytes = 5 });
        var leader = cluster.Elect(1);
        cluster.Propose(1, "a");
        cluster.DeliverAll();
        var snapshot = cluster.Compact(1, leader.AppliedIndex, SnapshotBytes);
        cluster.AddEmptyNode(4);

        leader.ProposeConfChange(new ConfChange(ConfChangeType.AddLearner, 4));
        cluster.Propose(1, "b");
        cluster.DeliverAll();

        var installed = Assert.Single(cluster.Node(4).InstalledSnapshots);
        Assert.Equal(snapshot, installed.Metadata);
        Assert.Equal(SnapshotBytes, installed.Data.ToArray());
        Assert.Contains(4L, cluster[4].Membership.Learners);
        Assert.Equal(["b"], AppliedTexts(cluster, 4));
        Assert.Equal(leader.CommitIndex, cluster[4].CommitIndex);
    }

    [Fact]
    public void Follower_SnapshotConflictingWithItsLog_DiscardsTheWholeLog()
    {
        // The follower's [1@1, 2@1, 3@2, 4@2] has nothing at index 5 of term 3.
        var node = new TestNode(ClusterOptions.Paper.ConfigFor(1), Build.State([1, 2, 3], term: 3, [1, 1, 2, 2], commit: 2));
        var snapshot = new SnapshotMetadata(5, 3, new Membership([1, 2, 3]));

        node.Step(Build.InstallSnapshot(2, 1, term: 3, snapshot, offset: 0, [1, 2, 3], done: false));
        var sent = node.Step(Build.InstallSnapshot(2, 1, term: 3, snapshot, offset: 3, [4, 5], done: true));

        Assert.Contains(sent, m => m.Type == MessageType.InstallSnapshotResponse && m.Done && m.Index == 5);
        var installed = Assert.Single(node.InstalledSnapshots);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, installed.Data.ToArray());
        Assert.Empty(node.Storage.Entries);
        Assert.Equal(snapshot, node.Storage.Snapshot);
        Assert.Equal((5L, 5L, 5L), (node.Raft.LastIndex, node.Raft.CommitIndex, node.AppliedIndex));
    }

    [Fact]
    public void Follower_LogAlreadyHoldsSnapshotsLastEntry_KeepsItsLog()
    {
        var node = new TestNode(ClusterOptions.Paper.ConfigFor(1), Build.State([1, 2, 3], term: 3, [1, 1, 2, 2], commit: 1));
        var log = node.Storage.Entries.ToList();
        var snapshot = new SnapshotMetadata(3, 2, new Membership([1, 2, 3]));

        var sent = node.Step(Build.InstallSnapshot(2, 1, term: 3, snapshot, offset: 0, [9, 9], done: true));

        Assert.Contains(sent, m => m.Type == MessageType.InstallSnapshotResponse && m.Done && m.Index == 3);
        Assert.Empty(node.InstalledSnapshots);
        Assert.Equal(log, node.Storage.Entries);
        Assert.Equal((4L, 3L), (node.Raft.LastIndex, node.Raft.CommitIndex));
        Assert.Equal([2L, 3L], node.Applied.Select(e => e.Index));
    }

    [Fact]
    public void Follower_ChunkOutOfOrder_IsNotWrittenAndAnswerSaysWhereToResume()
    {
        var node = new TestNode(ClusterOptions.Paper.ConfigFor(1), Build.State([1, 2, 3], term: 3, [1, 1], commit: 1));
        var snapshot = new SnapshotMetadata(5, 3, new Membership([1, 2, 3]));
        node.Step(Build.InstallSnapshot(2, 1, term: 3, snapshot, offset: 0, [1, 2], done: false));

        var answer = node.Step(Build.InstallSnapshot(2, 1, term: 3, snapshot, offset: 4, [5], done: true))
            .Single(m => m.Type == MessageType.InstallSnapshotResponse);
        Assert.Equal((false, 2L), (answer.Done, answer.Offset));
        node.Step(Build.InstallSnapshot(2, 1, term: 3, snapshot, offset: 2, [3, 4], done: false));
        node.Step(Build.InstallSnapshot(2, 1, term: 3, snapshot, offset: 4, [5], done: true));

        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, Assert.Single(node.InstalledSnapshots).Data.ToArray());
    }
}
