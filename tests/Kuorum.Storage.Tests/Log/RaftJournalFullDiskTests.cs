using System.Diagnostics;
using Kuorum.Raft;
using Kuorum.Storage.Log;

namespace Kuorum.Storage.Tests.Log;

/// <summary>Needs root: mounts a 1 MiB tmpfs of its own under the temp folder, fills it, and unmounts it.</summary>
[Trait("Requires", "root")]
public sealed class RaftJournalFullDiskTests : IDisposable
{
    private readonly TempDirectory _mountPoint = new();

    public RaftJournalFullDiskTests() => Run("mount", "-t", "tmpfs", "-o", "size=1m", "kuorum-test-full", _mountPoint.Path);

    public void Dispose()
    {
        Run("umount", _mountPoint.Path);
        _mountPoint.Dispose();
    }

    [Fact]
    public async Task AppendAsync_DiskFull_FailsClearlyAndLeavesDurableEntriesReadable_RequiresRoot()
    {
        var path = Path.Combine(_mountPoint.Path, "journal");
        var options = new RaftJournalOptions { PageSizeBits = 12, MemorySizeBits = 16, SegmentSizeBits = 20 };
        long acknowledged = 0;
        IOException? failure = null;
        using (var journal = RaftJournal.Open(path, options))
        {
            for (var index = 1; index <= 5000 && failure is null; index++)
            {
                try
                {
                    await journal.AppendAsync([new Entry(index, 1, EntryType.Normal, new byte[1000])], new HardState(1, 1, index));
                    acknowledged = index;
                }
                catch (IOException e)
                {
                    failure = e;
                }
            }

            Assert.NotNull(failure);
            Assert.Contains("could not make its writes durable", failure.Message);
            Assert.Contains("full disk", failure.Message);
            var again = await Assert.ThrowsAsync<IOException>(async () =>
                await journal.AppendAsync([new Entry(acknowledged + 2, 1, EntryType.Normal, new byte[10])], null));
            Assert.Contains("reopen", again.Message);
        }

        Assert.InRange(acknowledged, 100, 5000);
        using var reopened = RaftJournal.Open(path, options);
        Assert.True(reopened.LastIndex >= acknowledged, $"acknowledged {acknowledged}, recovered {reopened.LastIndex}");
        var entries = await reopened.ReadAsync(1, acknowledged);
        Assert.Equal(Enumerable.Range(1, (int)acknowledged).Select(i => (long)i), entries.Select(e => e.Index));
    }

    private static void Run(string command, params string[] arguments)
    {
        var start = new ProcessStartInfo(command) { RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{command} {string.Join(' ', arguments)} failed ({process.ExitCode}): {error}");
        }
    }
}
