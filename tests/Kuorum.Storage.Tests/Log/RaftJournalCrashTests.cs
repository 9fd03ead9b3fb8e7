using System.Diagnostics;
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
        var childDll = Path.Combine(AppContext.BaseDirectory, "Kuorum.Storage.CrashChild.dll");
        long reported = 0;
        long recovered = 0;
        var killedBeforeOpen = 0;
        for (var kill = 0; kill < _kills; kill++)
        {
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add(childDll);
            start.ArgumentList.Add(directory.Path);
            start.ArgumentList.Add(Seed.ToString(CultureInfo.InvariantCulture));
            using var child = Process.Start(start)!;
            var stderr = child.StandardError.ReadToEndAsync();
            var lines = new List<string>();
            var readAll = ReadLinesAsync(child, lines);
            if (random.Next(4) == 0)
            {
                // Somewhere in start-up or recovery.
                await Task.Delay(random.Next(120));
            }
            else
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                while (!lines.Any(l => l.StartsWith("open", StringComparison.Ordinal)) && !child.HasExited)
                {
                    await Task.Delay(1, timeout.Token);
                }

                await Task.Delay(random.Next(40));
            }

            if (child.HasExited)
            {
                Assert.Fail($"the writer exited by itself with {child.ExitCode}: {await stderr}");
            }

            child.Kill();
            await child.WaitForExitAsync();
            await readAll;
            if (!lines.Any(l => l.StartsWith("open", StringComparison.Ordinal)))
            {
                killedBeforeOpen++;
            }

            foreach (var line in lines.Where(l => l.StartsWith("durable ", StringComparison.Ordinal)))
            {
                reported = Math.Max(reported, long.Parse(line["durable ".Length..], CultureInfo.InvariantCulture));
            }

            recovered = await VerifyAsync(directory.Path, Seed, reported);
        }

        output.WriteLine($"{_kills} kills ({killedBeforeOpen} before the journal opened), {recovered} steps durable at the end");
        Assert.True(recovered >= _kills, $"the writer made too little progress to test anything: {recovered} steps in {_kills} runs");
    }

    private static async Task ReadLinesAsync(Process child, List<string> lines)
    {
        while (await child.StandardOutput.ReadLineAsync() is { } line)
        {
            lock (lines)
            {
                lines.Add(line);
            }
        }
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
