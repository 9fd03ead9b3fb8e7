using Kuorum.Raft;
using Kuorum.Storage.Log;
using Kuorum.Storage.Snapshots;
using Kuorum.Storage.StateMachine;
using static Kuorum.Storage.Tests.Node.StoredNode;

namespace Kuorum.Storage.Tests.Node;

public sealed class NodeStorageTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private string Dir(string name) => Path.Combine(_directory.Path, name);

    private static NodeStorageOptions Options(SnapshotPolicy? policy = null, TimeProvider? time = null) => new()
    {
        Journal = new RaftJournalOptions { PageSizeBits = 12, MemorySizeBits = 16, SegmentSizeBits = 20 },
        Machine = new KvStateMachineOptions { IndexSizeBytes = 1 << 16, PageSizeBits = 21, MemorySizeBits = 23, SegmentSizeBits = 24 },
        Snapshots = policy ?? new SnapshotPolicy(),
        Time = time ?? TimeProvider.System,
    };

    private static IReadOnlyList<KvRecord> Everything(KvStateMachine machine) => machine.Range(ReadOnlySpan<byte>.Empty, int.MaxValue);

    private static List<string> LeaseView(KvStateMachine machine) =>
        [.. machine.Leases().Select(l => $"{l.Id}/{l.TtlMilliseconds}: {string.Join(",", l.Keys.Select(k => Convert.ToHexString(k.Span)))}")];

    // Puts, overwrites, deletes, a lease with keys, a txn: commands numbered from `from`.
    private static KvCommand[] Workload(int from, int count) =>
    [
        .. Enumerable.Range(from, count).Select(i => (i % 10) switch
        {
            3 => KvCommand.Delete(B($"key/{(i * 7) % 23:D2}")),
            5 => KvCommand.Txn([KvCompare.Exists(B($"key/{i % 23:D2}"))], [KvOp.Put(B($"txn/{i % 5}"), B($"then {i}"))], [KvOp.Put(B($"txn/{i % 5}"), B($"else {i}"))]),
            _ => Put($"key/{i % 23:D2}", $"value {i}"),
        }),
    ];

    private static async Task<StoredNode> LeaderWithLeaseAsync(string directory, NodeStorageOptions options, int commands)
    {
        // Snapshots go out in 1 KiB chunks, so an install takes many.
        var leader = await StartLeaderAsync(directory, options, ConfigFor(1, snapshotChunkBytes: 1024));
        await leader.ProposeAsync(KvCommand.LeaseGrant(7, 10_000), KvCommand.Put(B("leased/a"), B("a"), 7), KvCommand.Put(B("leased/b"), B("b"), 7));
        await leader.ProposeAsync(Workload(0, commands));
        return leader;
    }

    private static void AssertSameState(KvStateMachine expected, KvStateMachine actual)
    {
        Assert.Equal(expected.Revision, actual.Revision);
        Assert.Equal(Everything(expected), Everything(actual));
        Assert.Equal(LeaseView(expected), LeaseView(actual));
    }

    [Fact]
    public async Task OpenAsync_EmptyDirectory_IsFreshWithNothingToRecover()
    {
        using var storage = await NodeStorage.OpenAsync(Dir("node"), Options());

        Assert.True(storage.IsFresh);
        Assert.Equal(HardState.Initial, storage.InitialState.HardState);
        Assert.Equal(0, storage.InitialState.Snapshot.Index);
        Assert.Null(storage.InitialState.SnapshotData);
        Assert.Empty(storage.InitialState.Entries);
        Assert.Equal(0, storage.InitialState.Applied);
        Assert.Null(storage.LatestSnapshot);
        Assert.Equal(0, storage.Machine.AppliedIndex);
        Assert.False(storage.SnapshotDue);
        Assert.True(Directory.Exists(Path.Combine(Dir("node"), "journal")));
        Assert.True(Directory.Exists(Path.Combine(Dir("node"), "kv")));
        Assert.True(Directory.Exists(Path.Combine(Dir("node"), "snapshots")));
    }

    [Fact]
    public async Task PersistApplyReopen_ReplaysTheCommittedEntriesIntoTheStateMachine()
    {
        using var leader = await LeaderWithLeaseAsync(Dir("node"), Options(), 60);
        var lastIndex = leader.Node.LastIndex;
        Assert.Equal(lastIndex, leader.Machine.AppliedIndex);
        using var expected = KvStateMachine.Open(Dir("expected"), Options().Machine);
        foreach (var (entry, _) in leader.Applied)
        {
            expected.Apply(entry);
        }

        await leader.RestartAsync();

        // Nothing was checkpointed: the state machine recovers empty and the core hands every committed entry back.
        Assert.False(leader.Storage.IsFresh);
        Assert.Equal(lastIndex, leader.Storage.InitialState.HardState.Commit);
        Assert.Equal(lastIndex, leader.Storage.InitialState.Entries.Count);
        Assert.Equal(0, leader.Storage.InitialState.Applied);
        Assert.Equal(0, leader.Machine.AppliedIndex);
        await leader.DrainAsync();
        Assert.Equal(lastIndex, leader.Machine.AppliedIndex);
        AssertSameState(expected, leader.Machine);
    }

    [Fact]
    public async Task SnapshotAsync_CompactsTheJournal_AndReopenRestoresCheckpointPlusReplay()
    {
        using var leader = await LeaderWithLeaseAsync(Dir("node"), Options(), 80);
        var applied = leader.Node.AppliedIndex;

        var metadata = await leader.Storage.SnapshotAsync(leader.Node);

        Assert.Equal(applied, metadata.Index);
        Assert.Equal(leader.Node.Term, metadata.Term);
        Assert.Equal(new Membership([1]), metadata.Membership);
        Assert.Equal(metadata, leader.Storage.LatestSnapshot!.Metadata);
        Assert.True(File.Exists(leader.Storage.LatestSnapshot.File));
        Assert.Equal(applied + 1, leader.Storage.Journal.FirstIndex);
        Assert.Equal(applied, leader.Node.Status().SnapshotIndex);

        // More writes after the snapshot, then a restart: checkpoint at the snapshot, the rest replayed.
        await leader.ProposeAsync(Workload(80, 40));
        using var expected = KvStateMachine.Open(Dir("expected"), Options().Machine);
        foreach (var (entry, _) in leader.Applied)
        {
            expected.Apply(entry);
        }

        await leader.RestartAsync();

        Assert.Equal(metadata, leader.Storage.InitialState.Snapshot);
        Assert.IsType<StoredSnapshot>(leader.Storage.InitialState.SnapshotData);
        Assert.Equal(applied + 1, leader.Storage.InitialState.Entries[0].Index);
        Assert.Equal(applied, leader.Storage.InitialState.Applied);
        Assert.Equal(applied, leader.Machine.AppliedIndex);
        await leader.DrainAsync();
        Assert.Equal(expected.AppliedIndex, leader.Machine.AppliedIndex);
        AssertSameState(expected, leader.Machine);

        // And it goes on: campaign again, write, snapshot again past the first.
        leader.Node.Campaign();
        await leader.ProposeAsync(Workload(120, 10));
        var second = await leader.Storage.SnapshotAsync(leader.Node);
        Assert.True(second.Index > metadata.Index);
        Assert.Equal(second, leader.Storage.LatestSnapshot!.Metadata);
    }

    [Fact]
    public async Task SnapshotAsync_NothingAppliedSinceTheLast_Throws()
    {
        using var leader = await LeaderWithLeaseAsync(Dir("node"), Options(), 5);
        await leader.Storage.SnapshotAsync(leader.Node);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => leader.Storage.SnapshotAsync(leader.Node));

        Assert.Contains("nothing to snapshot", error.Message);
    }

    [Fact]
    public async Task InstallSnapshot_OnAFreshFollower_ItsStateEqualsTheLeadersAndSurvivesReopen()
    {
        using var leader = await LeaderWithLeaseAsync(Dir("leader"), Options(), 150);
        var snapshot = await leader.Storage.SnapshotAsync(leader.Node);
        await leader.ProposeAsync(Workload(150, 20));

        // A learner joins with an empty log: the entries it needs are compacted, so the leader sends the snapshot, in
        // 1 KiB chunks, then the entries after it.
        Assert.True(leader.Node.ProposeConfChange(new ConfChange(ConfChangeType.AddLearner, 2)).IsAccepted);
        using var follower = await StartAsync(Dir("follower"), Options(), ConfigFor(2), bootstrap: null);
        Assert.True(follower.Storage.IsFresh);
        for (var round = 0; round < 20 && follower.Machine.AppliedIndex < leader.Node.LastIndex; round++)
        {
            leader.Node.Tick();
            await PumpAsync(leader, follower);
        }

        Assert.Equal(leader.Node.LastIndex, follower.Machine.AppliedIndex);
        Assert.Equal(snapshot, follower.Storage.LatestSnapshot!.Metadata);
        Assert.Equal(snapshot.Index + 1, follower.Storage.Journal.FirstIndex);
        Assert.DoesNotContain(follower.Applied, a => a.Entry.Index <= snapshot.Index);
        AssertSameState(leader.Machine, follower.Machine);

        // More writes reach it as entries; then it restarts from its own disk.
        await leader.ProposeAsync(Workload(170, 10));
        leader.Node.Tick();
        await PumpAsync(leader, follower);
        AssertSameState(leader.Machine, follower.Machine);
        await follower.RestartAsync();
        Assert.Equal(snapshot, follower.Storage.InitialState.Snapshot);
        Assert.Equal(snapshot.Index, follower.Machine.AppliedIndex);
        await follower.DrainAsync();
        Assert.Equal(leader.Machine.AppliedIndex, follower.Machine.AppliedIndex);
        AssertSameState(leader.Machine, follower.Machine);
    }

    [Fact]
    public async Task InstallSnapshot_CorruptBytes_RefusedNamingItAndTheOffset_FollowerUntouched()
    {
        using var leader = await LeaderWithLeaseAsync(Dir("leader"), Options(), 50);
        await leader.Storage.SnapshotAsync(leader.Node);
        var file = leader.Storage.LatestSnapshot!;

        // The leader reads its file for every chunk: flip a byte of the state machine's header (its revision).
        var bytes = await File.ReadAllBytesAsync(file.File);
        bytes[file.DataOffset + 16] ^= 0x04;
        await File.WriteAllBytesAsync(file.File, bytes);
        Assert.True(leader.Node.ProposeConfChange(new ConfChange(ConfChangeType.AddLearner, 2)).IsAccepted);
        using var follower = await StartAsync(Dir("follower"), Options(), ConfigFor(2));

        var error = await Assert.ThrowsAsync<StorageCorruptionException>(async () =>
        {
            for (var round = 0; round < 20; round++)
            {
                leader.Node.Tick();
                await PumpAsync(leader, follower);
            }
        });

        Assert.Equal($"snapshot {file.Metadata.Index}/{file.Metadata.Term} received from the leader", error.File);
        Assert.Equal(36, error.Offset);
        Assert.Contains("header checksum", error.Message);
        Assert.Equal(0, follower.Machine.AppliedIndex);
        Assert.Equal(0, follower.Machine.KeyCount);
        Assert.Empty(Directory.GetFiles(Path.Combine(Dir("follower"), "snapshots")));
        await follower.RestartAsync();
        Assert.Equal(0, follower.Storage.InitialState.Snapshot.Index);
        Assert.Equal(0, follower.Machine.KeyCount);
    }

    [Fact]
    public async Task OpenAsync_CorruptSnapshotFile_RefusesNamingTheFileAndOffset()
    {
        string file;
        using (var leader = await LeaderWithLeaseAsync(Dir("node"), Options(), 30))
        {
            await leader.Storage.SnapshotAsync(leader.Node);
            file = leader.Storage.LatestSnapshot!.File;
        }

        var bytes = await File.ReadAllBytesAsync(file);
        bytes[^100] ^= 0x20;
        await File.WriteAllBytesAsync(file, bytes);

        var error = await Assert.ThrowsAsync<StorageCorruptionException>(() => NodeStorage.OpenAsync(Dir("node"), Options()));

        Assert.Equal(file, error.File);
        Assert.Equal(bytes.Length - 4, error.Offset);
        Assert.Contains("checksum", error.Message);
    }

    [Fact]
    public async Task OpenAsync_SnapshotFileTheJournalNamesIsMissing_RefusesNamingIt()
    {
        string file;
        using (var leader = await LeaderWithLeaseAsync(Dir("node"), Options(), 30))
        {
            await leader.Storage.SnapshotAsync(leader.Node);
            file = leader.Storage.LatestSnapshot!.File;
        }

        File.Delete(file);

        var error = await Assert.ThrowsAsync<StorageCorruptionException>(() => NodeStorage.OpenAsync(Dir("node"), Options()));

        Assert.Equal(file, error.File);
        Assert.Contains("missing", error.Message);
    }

    [Fact]
    public async Task OpenAsync_StateMachineAheadOfTheDurableCommit_IsRebuiltFromTheJournalsSnapshot()
    {
        // A follower killed after its state machine took a leader's snapshot, before the journal recorded it: a state
        // machine ahead of the durable commit index, and a snapshot file newer than the journal's.
        using var other = await LeaderWithLeaseAsync(Dir("other"), Options(), 90);
        await other.Storage.SnapshotAsync(other.Node);
        var foreign = other.Storage.LatestSnapshot!;
        using var node = await LeaderWithLeaseAsync(Dir("node"), Options(), 20);
        var own = await node.Storage.SnapshotAsync(node.Node);
        await node.ProposeAsync(Workload(20, 5));
        using var expected = KvStateMachine.Open(Dir("expected"), Options().Machine);
        foreach (var (entry, _) in node.Applied)
        {
            expected.Apply(entry);
        }

        node.Storage.Dispose();
        using (var machine = KvStateMachine.Open(Path.Combine(Dir("node"), "kv"), Options().Machine))
        using (var data = foreign.OpenData())
        {
            machine.RestoreSnapshot(data);
            Assert.True(machine.AppliedIndex > node.Node.CommitIndex);
        }

        var orphan = Path.Combine(Dir("node"), "snapshots", $"snap-{foreign.Metadata.Index:D20}-{foreign.Metadata.Term + 5:D20}.snap");
        File.Copy(foreign.File, orphan);

        await node.RestartAsync();

        Assert.False(File.Exists(orphan));
        Assert.Equal(own, node.Storage.LatestSnapshot!.Metadata);
        Assert.Equal(own.Index, node.Machine.AppliedIndex);
        await node.DrainAsync();
        Assert.Equal(expected.AppliedIndex, node.Machine.AppliedIndex);
        AssertSameState(expected, node.Machine);
    }

    [Fact]
    public async Task OpenAsync_AfterAnInterruptedRestore_RestoresTheSnapshotFileAgain()
    {
        using var node = await LeaderWithLeaseAsync(Dir("node"), Options(), 40);
        var snapshot = await node.Storage.SnapshotAsync(node.Node);
        await node.ProposeAsync(Workload(40, 5));
        node.Storage.Dispose();
        await File.WriteAllBytesAsync(Path.Combine(Dir("node"), "kv", "restore-in-progress"), []);

        await node.RestartAsync();

        Assert.Equal(snapshot.Index, node.Machine.AppliedIndex);
        await node.DrainAsync();
        using var expected = KvStateMachine.Open(Dir("expected"), Options().Machine);
        foreach (var (entry, _) in node.Applied.Where(a => a.Entry.Index <= node.Machine.AppliedIndex).DistinctBy(a => a.Entry.Index))
        {
            expected.Apply(entry);
        }

        AssertSameState(expected, node.Machine);
    }

    [Fact]
    public async Task SnapshotDue_ByEntries_AfterMaxEntriesApplied()
    {
        using var leader = await StartLeaderAsync(Dir("node"), Options(new SnapshotPolicy { MaxEntries = 10, MaxBytes = long.MaxValue, MaxAge = TimeSpan.FromDays(1) }));

        // Bootstrap and the leader's no-op were applied: 2 entries.
        Assert.Equal(2, leader.Machine.AppliedIndex);
        await leader.ProposeAsync(Workload(0, 7));
        Assert.False(leader.Storage.SnapshotDue);
        await leader.ProposeAsync(Workload(7, 1));
        Assert.True(leader.Storage.SnapshotDue);

        await leader.Storage.SnapshotAsync(leader.Node);
        Assert.False(leader.Storage.SnapshotDue);
        await leader.ProposeAsync(Workload(8, 9));
        Assert.False(leader.Storage.SnapshotDue);
        await leader.ProposeAsync(Workload(17, 1));
        Assert.True(leader.Storage.SnapshotDue);
    }

    [Fact]
    public async Task SnapshotDue_ByBytes_OnceTheAppliedEntriesReachMaxBytes()
    {
        const long MaxBytes = 4_000;
        using var leader = await StartLeaderAsync(Dir("node"), Options(new SnapshotPolicy { MaxEntries = long.MaxValue, MaxBytes = MaxBytes, MaxAge = TimeSpan.FromDays(1) }));
        var counted = leader.Applied.Sum(a => a.Entry.SizeBytes);

        for (var i = 0; counted < MaxBytes; i++)
        {
            Assert.False(leader.Storage.SnapshotDue);
            await leader.ProposeAsync(Put($"big/{i}", new string('x', 700)));
            counted += leader.Applied[^1].Entry.SizeBytes;
        }

        Assert.True(leader.Storage.SnapshotDue);
        await leader.Storage.SnapshotAsync(leader.Node);
        Assert.False(leader.Storage.SnapshotDue);
    }

    [Fact]
    public async Task SnapshotDue_ByAge_OnlyWhenSomethingWasAppliedSince()
    {
        var time = new FakeTime();
        using var leader = await StartLeaderAsync(Dir("node"), Options(new SnapshotPolicy { MaxEntries = long.MaxValue, MaxBytes = long.MaxValue, MaxAge = TimeSpan.FromMinutes(10) }, time));

        time.Advance(TimeSpan.FromMinutes(9));
        Assert.False(leader.Storage.SnapshotDue);
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.True(leader.Storage.SnapshotDue);

        await leader.Storage.SnapshotAsync(leader.Node);
        Assert.False(leader.Storage.SnapshotDue);

        // A quiet cluster: old enough, but nothing applied since, so no snapshot.
        time.Advance(TimeSpan.FromMinutes(30));
        Assert.False(leader.Storage.SnapshotDue);
        await leader.ProposeAsync(Put("a", "b"));
        Assert.True(leader.Storage.SnapshotDue);
    }

    [Fact]
    public async Task Validate_NullTime_ThrowsNamingTheSetting()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => NodeStorage.OpenAsync(Dir("node"), new NodeStorageOptions { Time = null! }));

        Assert.Contains("Time is null", error.Message);
    }

    private sealed class FakeTime : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public void Advance(TimeSpan by) => _now += by;

        public override DateTimeOffset GetUtcNow() => _now;
    }
}
