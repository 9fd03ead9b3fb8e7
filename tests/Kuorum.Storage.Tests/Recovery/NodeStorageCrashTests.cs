using System.Diagnostics;
using System.Globalization;
using Kuorum.Raft;
using Kuorum.Storage.CrashChild;
using Kuorum.Storage.Log;
using Kuorum.Storage.StateMachine;
using Xunit.Abstractions;

namespace Kuorum.Storage.Tests.Recovery;

/// <summary>
/// Crash tests of a node's storage as a whole, with real processes: a child appends the seeded key-value workload to
/// the journal, reports each index durable, applies it to the state machine, checkpoints and compacts now and then;
/// this test kills it with SIGKILL at random moments (during start-up and recovery too), and after every kill reopens
/// both, replays the journal into the state machine as a node recovers, and checks that no reported entry is lost,
/// the journal reads back whole, and the state machine equals one fed the workload's commands up to the journal's
/// last index. KUORUM_CRASH_KILLS sets the number of kills (default 200).
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
    public async Task JournalAndStateMachine_KilledAtRandomMoments_RecoverToReplayOfDurableLog()
    {
        using var node = new TempDirectory();
        using var referenceDirectory = new TempDirectory();
        const ulong Seed = 20261202;
        var random = new SeededRandom(Seed);

        // The reference is fed the workload's entries in order, up to the journal's last index after each kill (which
        // never goes back: nothing durable may be lost), so it always holds a fresh replay of the whole sequence.
        using var reference = KvStateMachine.Open(referenceDirectory.Path, KvWorkload.MachineOptions);
        long reported = 0;
        var killedBeforeOpen = 0;
        var killedInCheckpoint = 0;
        var replayed = 0L;
        var clock = Stopwatch.StartNew();
        for (var kill = 0; kill < _kills; kill++)
        {
            // The runtime alone takes some 80 ms to start: up to 220 ms lands in start-up, opening or the recovery replay.
            var killed = await CrashChildProcess.RunAndKillAsync(random, 220, 50, "kv", node.Path, Seed.ToString(CultureInfo.InvariantCulture));
            var lines = killed.Lines;
            if (!killed.Opened)
            {
                killedBeforeOpen++;
            }
            else if (lines[^1].StartsWith("checkpoint ", StringComparison.Ordinal))
            {
                killedInCheckpoint++;
            }

            reported = Math.Max(reported, killed.HighestDurable);

            try
            {
                replayed += await VerifyAsync(node.Path, Seed, reported, reference);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new InvalidOperationException(
                    $"recovery after kill {kill} of {_kills} failed; the writer's last line was '{lines.LastOrDefault()}': {e.Message}", e);
            }
        }

        output.WriteLine(
            $"{_kills} kills ({killedBeforeOpen} before recovery finished, {killedInCheckpoint} in a checkpoint or compaction) in {clock.Elapsed.TotalSeconds:F1} s; {reference.AppliedIndex} entries durable at the end, {reference.KeyCount} live keys at revision {reference.Revision}; {replayed} entries replayed in verification");
        Assert.True(reference.AppliedIndex >= _kills, $"the writer made too little progress to test anything: {reference.AppliedIndex} entries in {_kills} runs");
    }

    // Recovers the node as it restarts and checks it against the workload; returns how many entries were replayed.
    private static async Task<long> VerifyAsync(string node, ulong seed, long reported, KvStateMachine reference)
    {
        using var journal = RaftJournal.Open(KvWorkload.JournalDirectory(node), KvWorkload.JournalOptions);
        using var machine = KvStateMachine.Open(KvWorkload.MachineDirectory(node), KvWorkload.MachineOptions);

        // (a) Nothing reported durable is lost, and nothing durable before is lost now.
        Assert.True(journal.LastIndex >= reported, $"entry {reported} was reported durable; the journal recovered up to {journal.LastIndex}");
        Assert.True(journal.LastIndex >= reference.AppliedIndex, $"entry {reference.AppliedIndex} was durable after an earlier kill; the journal recovered up to {journal.LastIndex}");
        Assert.Equal(journal.LastIndex, journal.HardState.Commit);

        // (b) The journal reads back from its first index to its last without a gap or a checksum error, and holds the
        // workload's entries.
        foreach (var entry in await journal.ReadAsync(journal.FirstIndex, journal.LastIndex))
        {
            Assert.Equal(KvWorkload.EntryAt(seed, entry.Index), entry);
        }

        // The state machine recovered a checkpoint the journal still covers and never beyond what is durable.
        var checkpointed = machine.AppliedIndex;
        Assert.True(checkpointed >= journal.Snapshot.Index,
            $"the journal was compacted up to {journal.Snapshot.Index} but the state machine's checkpoint reaches only {checkpointed}");
        Assert.True(checkpointed <= journal.LastIndex, $"the state machine's checkpoint reaches {checkpointed}, past the journal's last index {journal.LastIndex}");

        // (d) The recovery replay brings the state machine to the journal's last index.
        await KvWorkload.ReplayAsync(journal, machine);
        Assert.Equal(journal.LastIndex, machine.AppliedIndex);

        // (c) It equals a replay of the whole command sequence: same revision, same keys, values, revisions, versions.
        for (var index = reference.AppliedIndex + 1; index <= journal.LastIndex; index++)
        {
            reference.Apply(KvWorkload.EntryAt(seed, index));
        }

        Assert.Equal(reference.Revision, machine.Revision);
        Assert.Equal(reference.KeyCount, machine.KeyCount);
        Assert.Equal(reference.Range(ReadOnlySpan<byte>.Empty, int.MaxValue), machine.Range(ReadOnlySpan<byte>.Empty, int.MaxValue));
        return journal.LastIndex - checkpointed;
    }
}

/// <summary>Runs <see cref="NodeStorageCrashTests"/> with no other test in parallel.</summary>
[CollectionDefinition(nameof(NodeStorageCrashTests), DisableParallelization = true)]
public sealed class NodeStorageCrashTestsCollection;
