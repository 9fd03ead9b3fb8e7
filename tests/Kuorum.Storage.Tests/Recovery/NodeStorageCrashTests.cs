using System.Diagnostics;
using System.Globalization;
using Kuorum.Raft;
using Kuorum.Storage.CrashChild;
using Kuorum.Storage.StateMachine;
using Xunit.Abstractions;

namespace Kuorum.Storage.Tests.Recovery;

/// <summary>
/// Crash tests of a node's storage as a whole, with real processes: a child drives a single-voter Raft node over a
/// <see cref="NodeStorage"/>, proposes the seeded command sequence, reports each index durable, applies, and takes
/// snapshots (state machine checkpoint with FASTER log compaction, snapshot file, journal compaction) under load; this
/// test kills it with SIGKILL at random moments (during start-up and recovery too), and after every kill recovers the
/// node as the agent would (<see cref="NodeStorage.OpenAsync"/>, a Raft node from its initial state, the committed
/// entries re-delivered and applied) and checks that no reported entry is lost, the journal reads back whole and holds
/// the sequence's commands in order, and the state machine equals one fed the commands up to where the recovered one
/// got. KUORUM_CRASH_KILLS sets the number of kills (default 200).
/// <para>
/// It runs alone, after the parallel tests, so its timing (and the moments its kills land) stay steady on a shared
/// 2-core machine. (It first ran in parallel and showed that the journal's commit file was inherited by child
/// processes, keeping another test's tmpfs busy: that descriptor is now opened with O_CLOEXEC.)
/// </para>
/// </summary>
[Collection(nameof(NodeStorageCrashTests))]
public sealed class NodeStorageCrashTests(ITestOutputHelper output)
{
    private static readonly int _kills =
        int.TryParse(Environment.GetEnvironmentVariable("KUORUM_CRASH_KILLS"), out var kills) && kills > 0 ? kills : 200;

    [Fact]
    public async Task NodeStorage_KilledAtRandomMomentsWhileSnapshotting_RecoversToAReplayOfTheDurableLog()
    {
        using var node = new TempDirectory();
        using var referenceDirectory = new TempDirectory();
        const ulong Seed = 20261202;
        var random = new SeededRandom(Seed);

        // The reference is fed the sequence's commands in order, up to the recovered state machine's after each kill
        // (which never goes back: nothing durable may be lost), so it always holds a fresh replay of the whole sequence.
        using var reference = KvStateMachine.Open(referenceDirectory.Path, KvWorkload.MachineOptions);
        long reported = 0;
        var killedBeforeOpen = 0;
        var killedInSnapshot = 0;
        var snapshots = 0;
        var (replayed, restored) = (0L, 0);
        var clock = Stopwatch.StartNew();
        for (var kill = 0; kill < _kills; kill++)
        {
            // The runtime alone takes some 80 ms to start: up to 250 ms lands in start-up, opening, the recovery replay
            // or the snapshot the writer takes before it reports "open" when one is due.
            var killed = await CrashChildProcess.RunAndKillAsync(random, 250, 50, "kv", node.Path, Seed.ToString(CultureInfo.InvariantCulture));
            var lines = killed.Lines;
            if (!killed.Opened)
            {
                killedBeforeOpen++;
            }

            if (lines.Count > 0 && lines[^1].StartsWith("snapshot ", StringComparison.Ordinal))
            {
                killedInSnapshot++;
            }

            snapshots += lines.Count(l => l.StartsWith("snapshotted ", StringComparison.Ordinal));
            reported = Math.Max(reported, killed.HighestDurable);

            try
            {
                var (entries, fromSnapshot) = await VerifyAsync(node.Path, Seed, reported, reference);
                replayed += entries;
                restored += fromSnapshot ? 1 : 0;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new InvalidOperationException(
                    $"recovery after kill {kill} of {_kills} failed; the writer's last line was '{lines.LastOrDefault()}': {e.Message}", e);
            }
        }

        output.WriteLine(
            $"{_kills} kills ({killedBeforeOpen} before the writer reported open, {killedInSnapshot} in a snapshot) in {clock.Elapsed.TotalSeconds:F1} s; {snapshots} snapshots completed; {KvWorkload.SequenceOf(reference)} commands durable at the end, {reference.KeyCount} live keys at revision {reference.Revision}; {replayed} entries replayed in verification, {restored} recoveries started from a snapshot");
        Assert.True(KvWorkload.SequenceOf(reference) >= _kills, $"the writer made too little progress to test anything: {KvWorkload.SequenceOf(reference)} commands in {_kills} runs");
        Assert.True(snapshots >= _kills / 20, $"the writer completed too few snapshots to test recovery from them: {snapshots} in {_kills} runs");
        Assert.True(killedInSnapshot >= _kills / 20, $"too few kills landed in a snapshot: {killedInSnapshot} of {_kills}");
    }

    // Recovers the node as it restarts and checks it against the workload; returns how many entries were replayed
    // and whether the journal started after a snapshot.
    private static async Task<(long Replayed, bool FromSnapshot)> VerifyAsync(string node, ulong seed, long reported, KvStateMachine reference)
    {
        using var storage = await NodeStorage.OpenAsync(node, KvWorkload.StorageOptions());
        var state = storage.InitialState;
        var lastIndex = state.Entries.Count > 0 ? state.Entries[^1].Index : state.Snapshot.Index;

        // (a) Nothing reported durable is lost.
        Assert.True(lastIndex >= reported, $"entry {reported} was reported durable; the journal recovered up to {lastIndex}");

        // (b) The journal read back from its first index to its last without a gap or a checksum error (OpenAsync
        // reads it all), and holds the sequence's commands in order, one per command, between no-ops.
        long? previous = null;
        var expectedIndex = state.Snapshot.Index + 1;
        foreach (var entry in state.Entries)
        {
            Assert.Equal(expectedIndex++, entry.Index);
            if (KvWorkload.SequenceOf(entry) is not { } k)
            {
                Assert.True(entry.IsNoop || (entry.Type == EntryType.Bootstrap && entry.Index == 1), $"entry {entry} is neither a command, a no-op nor the bootstrap entry");
                continue;
            }

            Assert.Equal(KvWorkload.CommandAt(seed, k).Encode(), entry.Data.ToArray());
            Assert.True(previous is null || k == previous + 1, $"entry {entry.Index} carries command {k} after command {previous}");
            previous = k;
        }

        // (c) The state machine recovered at or past the journal's snapshot and never past the durable commit index;
        // then the core hands back the committed entries after it, as on a restart.
        var recovered = storage.Machine.AppliedIndex;
        var commit = state.HardState.Commit;
        Assert.True(recovered >= state.Snapshot.Index, $"the journal starts after snapshot {state.Snapshot.Index} but the state machine recovered only {recovered}");
        Assert.True(recovered <= commit, $"the state machine recovered {recovered}, past the durable commit index {commit}");
        Assert.True(commit <= lastIndex, $"the commit index {commit} is past the journal's last index {lastIndex}");
        var raft = new RaftNode(KvWorkload.Config(), state);
        await KvWorkload.DrainAsync(storage, raft, report: false);
        Assert.Equal(commit, storage.Machine.AppliedIndex);

        // (d) It equals a replay of the whole command sequence up to where it got: same revision, keys, values,
        // revisions and versions. The sequence never goes back.
        var sequence = KvWorkload.SequenceOf(storage.Machine);
        var before = KvWorkload.SequenceOf(reference);
        Assert.True(sequence >= before, $"the recovered state machine holds commands up to {sequence}; an earlier recovery held up to {before}");
        for (var k = before + 1; k <= sequence; k++)
        {
            reference.Apply(new Entry(k, 1, EntryType.Normal, KvWorkload.CommandAt(seed, k).Encode()));
        }

        Assert.Equal(reference.Revision, storage.Machine.Revision);
        Assert.Equal(reference.KeyCount, storage.Machine.KeyCount);
        Assert.Equal(reference.Range(ReadOnlySpan<byte>.Empty, int.MaxValue), storage.Machine.Range(ReadOnlySpan<byte>.Empty, int.MaxValue));
        return (commit - recovered, state.Snapshot.Index > 0);
    }
}

/// <summary>Runs <see cref="NodeStorageCrashTests"/> with no other test in parallel.</summary>
[CollectionDefinition(nameof(NodeStorageCrashTests), DisableParallelization = true)]
public sealed class NodeStorageCrashTestsCollection;
