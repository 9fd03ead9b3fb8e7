using System.Text;
using Kuorum.Raft;
using Kuorum.Storage.StateMachine;
using Xunit.Abstractions;

namespace Kuorum.Storage.Tests.StateMachine;

public sealed class KvLogCompactionTests(ITestOutputHelper output) : IDisposable
{
    private const int Keys = 40;
    private const int Rounds = 250;

    // 16 KiB segments: FASTER deletes a segment file once the log's begin address has passed it.
    private static readonly KvStateMachineOptions _compacting = new()
    {
        Limits = new KvLimits { MaxKeyBytes = 64, MaxValueBytes = 512 },
        IndexSizeBytes = 1 << 12,
        PageSizeBits = 12,
        MemorySizeBits = 14,
        SegmentSizeBits = 14,
        LogCompactionMinBytes = 32 << 10,
    };

    // What the compacted directory must stay under (measured: about 50 KiB at its peak).
    private const long Bound = 96 << 10;

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    // FASTER deletes segments below a checkpoint on a background task: a file listed may be gone when measured.
    private static long SizeOf(string directory) =>
        Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Sum(file =>
        {
            var info = new FileInfo(file);
            return info.Exists ? info.Length : 0;
        });

    // Round r overwrites every key with a 150..250-byte value (every fifth key of every seventh round is deleted
    // instead, and comes back the round after), then checkpoints. Returns the largest size of the directory after a
    // checkpoint, and the bytes of records written.
    private static (long MaxSize, long Written) Run(KvStateMachine machine, string directory, int rounds, int firstRound = 0)
    {
        var index = machine.AppliedIndex;
        var (maxSize, written) = (0L, 0L);
        for (var round = firstRound; round < firstRound + rounds; round++)
        {
            for (var key = 0; key < Keys; key++)
            {
                var command = round % 7 == 3 && key % 5 == 0
                    ? KvCommand.Delete(Encoding.ASCII.GetBytes($"key/{key:D2}"), _compacting.Limits)
                    : KvCommand.Put(Encoding.ASCII.GetBytes($"key/{key:D2}"), Value(round, key), _compacting.Limits);
                machine.Apply(new Entry(++index, 1, EntryType.Normal, command.Encode()));
                written += 64 + command.Value.Length;
            }

            machine.Checkpoint();
            maxSize = Math.Max(maxSize, SizeOf(directory));
        }

        return (maxSize, written);
    }

    private static byte[] Value(int round, int key) => Encoding.ASCII.GetBytes(new string((char)('a' + ((round + key) % 26)), 150 + ((round * 7 + key) % 100)));

    [Fact]
    public void Checkpoints_ManyOverwritesOfAFewKeys_KeepTheFilesWithinABound()
    {
        var path = Path.Combine(_directory.Path, "kv");
        using var machine = KvStateMachine.Open(path, _compacting);

        var (maxSize, written) = Run(machine, path, Rounds);

        // Live records: 40 keys of ~230 bytes (~10 KiB). The log is compacted past 32 KiB, grows by a round (~10 KiB)
        // between checkpoints, and its files are whole 16 KiB segments, plus a little checkpoint metadata.
        output.WriteLine($"{written} bytes of records written, the directory peaked at {SizeOf(path)}..{maxSize} bytes, {machine.LogCompactions} compactions, log {machine.LogBytes} bytes, live {machine.LiveBytes}");
        Assert.True(written > 20 * Bound, $"the workload must write far more than the bound to test it; it wrote {written}");
        Assert.True(maxSize <= Bound, $"the state machine's directory reached {maxSize} bytes; the bound is {Bound}");
        Assert.True(machine.LogCompactions >= Rounds / 10, $"expected a compaction every few rounds; there were {machine.LogCompactions}");
    }

    [Fact]
    public void Checkpoints_WithoutCompaction_GrowWithEveryOverwrite()
    {
        // The control: the same workload with compaction effectively off outgrows the bound above many times.
        var path = Path.Combine(_directory.Path, "kv");
        using var machine = KvStateMachine.Open(path, new KvStateMachineOptions
        {
            Limits = _compacting.Limits,
            IndexSizeBytes = _compacting.IndexSizeBytes,
            PageSizeBits = _compacting.PageSizeBits,
            MemorySizeBits = _compacting.MemorySizeBits,
            SegmentSizeBits = _compacting.SegmentSizeBits,
            LogCompactionMinBytes = long.MaxValue,
        });

        var (maxSize, _) = Run(machine, path, Rounds);

        Assert.Equal(0, machine.LogCompactions);
        Assert.True(maxSize > 10 * Bound, $"without compaction the directory should hold every overwrite; it peaked at {maxSize}");
    }

    [Fact]
    public void CompactedLog_Reopened_HoldsTheLatestValueOfEveryKey()
    {
        var path = Path.Combine(_directory.Path, "kv");
        var referencePath = Path.Combine(_directory.Path, "reference");
        using (var machine = KvStateMachine.Open(path, _compacting))
        {
            Run(machine, path, 120);
            Assert.True(machine.LogCompactions > 0);
        }

        // Reopen, continue (compacting again over records recovered from disk), reopen again.
        using (var machine = KvStateMachine.Open(path, _compacting))
        {
            Run(machine, path, 60, firstRound: 120);
            Assert.True(machine.LogCompactions > 0);
        }

        using var reopened = KvStateMachine.Open(path, _compacting);
        using var reference = KvStateMachine.Open(referencePath, new KvStateMachineOptions
        {
            Limits = _compacting.Limits,
            IndexSizeBytes = 1 << 16,
            PageSizeBits = 16,
            MemorySizeBits = 24,
            SegmentSizeBits = 24,
            LogCompactionMinBytes = long.MaxValue,
        });
        Run(reference, referencePath, 180);

        Assert.Equal(reference.AppliedIndex, reopened.AppliedIndex);
        Assert.Equal(reference.Revision, reopened.Revision);
        Assert.Equal(reference.Range(ReadOnlySpan<byte>.Empty, int.MaxValue), reopened.Range(ReadOnlySpan<byte>.Empty, int.MaxValue));
        foreach (var record in reference.Range(ReadOnlySpan<byte>.Empty, int.MaxValue))
        {
            Assert.Equal(record, reopened.Get(record.Key.Span));
        }
    }
}
