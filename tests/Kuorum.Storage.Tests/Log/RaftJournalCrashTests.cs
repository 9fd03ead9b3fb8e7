using System.Globalization;
using Kuorum.Raft;
using Kuorum.Storage.CrashChild;
using Kuorum.Storage.Log;
using Xunit.Abstractions;

namespace Kuorum.Storage.Tests.Log;

/// <summary>
/// Crash tests with real processes: a child writes the seeded journal workload and reports each durable step;
/// this test kills it with SIGKILL at random moments (during recovery too), reopens the journal and checks it
/// holds exactly what the workload wrote up to a step at or after the last one reported durable.
/// KUORUM_CRASH_KILLS sets the number of kills (default 200).
/// </summary>
public sealed class RaftJournalCrashTests(ITestOutputHelper output)
{
    private static readonly RaftJournalOptions _childOptions = new() { PageSizeBits = 12, MemorySizeBits = 16, SegmentSizeBits = 20 };

    private static readonly int _kills =
        int.TryParse(Environment.GetEnvironmentVariable("KUORUM_CRASH_KILLS"), out var kills) && kills > 0 ? kills : 200;

    [Fact]
    public async Task Journal_KilledAtRandomMoments_LosesNoDurableStep()
    {
        using var directory = new TempDirectory();
        const ulong Seed = 20261126;
        var random = new SeededRandom(Seed);
        long reported = 0;
        long recovered = 0;
        var killedBeforeOpen = 0;
        for (var kill = 0; kill < _kills; kill++)
        {
            // Start-up or recovery is over within 120 ms; a run of up to 40 ms covers many steps.
            var killed = await CrashChildProcess.RunAndKillAsync(random, 120, 40, directory.Path, Seed.ToString(CultureInfo.InvariantCulture));
            killedBeforeOpen += killed.Opened ? 0 : 1;
            reported = Math.Max(reported, killed.HighestDurable);
            recovered = await VerifyAsync(directory.Path, Seed, reported);
        }

        output.WriteLine($"{_kills} kills ({killedBeforeOpen} before the journal opened), {recovered} steps durable at the end");
        Assert.True(recovered >= _kills, $"the writer made too little progress to test anything: {recovered} steps in {_kills} runs");
    }

    // The journal must hold the workload's state after some step at or past the last reported durable one: the
    // same last index, the same live entries, a snapshot point no further than the model's.
    private static async Task<long> VerifyAsync(string path, ulong seed, long reported)
    {
        using var journal = RaftJournal.Open(path, _childOptions);
        var step = journal.HardState.Commit;
        Assert.True(step >= reported, $"step {reported} was reported durable, the journal recovered to step {step}");
        var model = JournalWorkload.After(seed, step);
        var uncompacted = JournalWorkload.After(seed, step, lastCompacted: false);
        Assert.Equal(model.LastIndex, journal.LastIndex);
        Assert.InRange(journal.Snapshot.Index, 0, model.SnapshotIndex);
        // Reading checks every record's checksum and that indexes run without a gap. Entries past the model's
        // snapshot are the model's; those a lost compaction of this step left behind are the uncompacted model's;
        // older ones a lost compaction of an earlier step left behind are only read.
        foreach (var entry in await journal.ReadAsync(journal.FirstIndex, journal.LastIndex))
        {
            if (entry.Index > model.SnapshotIndex)
            {
                Assert.Equal(model.Entries[(int)(entry.Index - model.SnapshotIndex - 1)], entry);
            }
            else if (entry.Index > uncompacted.SnapshotIndex)
            {
                Assert.Equal(uncompacted.Entries[(int)(entry.Index - uncompacted.SnapshotIndex - 1)], entry);
            }
        }

        return step;
    }
}
