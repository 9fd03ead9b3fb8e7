using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using Kuorum.Raft;
using Kuorum.Storage.Snapshots;
using Kuorum.Storage.StateMachine;

namespace Kuorum.Benchmarks;

/// <summary>
/// The key-value state machine at 1M keys, with its default options: applying Puts of 100-byte values to 1M distinct
/// keys in batches, one checkpoint of the whole store, writing a Raft snapshot of it (streamed into a snapshot file,
/// checksummed and synced, as <c>NodeStorage.SnapshotAsync</c> does) and installing that snapshot into another state
/// machine (checked whole, loaded into a fresh store, checkpointed), recovering the checkpoint
/// (<see cref="KvStateMachine.Open"/>), and the memory of the recovered store.
/// <para>
/// Row shapes: the apply row's ops_per_sec is entries applied per second over the whole load and its p50/p99 are
/// milliseconds per batch. A one-shot timing (checkpoint, open) has its milliseconds in both p50_ms and p99_ms and,
/// as ops_per_sec, the keys it covered per second (1M keys / its duration), comparable across store sizes. Memory
/// rows are not timings: their figures are in the scenario text and their numeric columns are 0.
/// </para>
/// </summary>
public static class StateMachineBenchmark
{
    private const string SystemName = "kuorum-kv";
    private const int Keys = 1_000_000;
    private const int ValueBytes = 100;
    private const int Batch = 1_000;
    private const double MiB = 1 << 20;

    public static List<BenchmarkRow> Run(string scratch)
    {
        var path = Path.Combine(scratch, "kv-1m");
        var snapshots = Path.Combine(scratch, "kv-1m-snapshots");
        var installed = Path.Combine(scratch, "kv-1m-installed");
        var rows = new List<BenchmarkRow>();
        try
        {
            var (heapBefore, _) = Memory();
            rows.AddRange(LoadAndCheckpoint(path, snapshots, installed));
            var open = Stopwatch.StartNew();
            using var recovered = KvStateMachine.Open(path);
            var opened = open.Elapsed;
            if (recovered.KeyCount != Keys || recovered.AppliedIndex != Keys)
            {
                throw new InvalidOperationException($"recovered {recovered.KeyCount} keys at applied index {recovered.AppliedIndex}; {Keys} were checkpointed");
            }

            rows.Add(OneShot("open 1M keys (recover checkpoint, rebuild key set)", opened));
            var (heap, workingSet) = Memory();

            // The heap is the store's (FASTER's pinned log pages and index, the key set) over the heap before any
            // store; the working set is the whole process's, which also holds what earlier benchmarks left committed.
            rows.Add(new BenchmarkRow(SystemName, $"memory 1M keys: managed heap {heap / MiB:F0} MiB (+{(heap - heapBefore) / MiB:F0})", 0, 0, 0));
            rows.Add(new BenchmarkRow(SystemName, $"memory 1M keys: process working set {workingSet / MiB:F0} MiB", 0, 0, 0));
        }
        finally
        {
            foreach (var directory in new[] { path, snapshots, installed })
            {
                if (Directory.Exists(directory))
                {
                    Directory.Delete(directory, recursive: true);
                }
            }
        }

        return rows;
    }

    // In a method of its own so that nothing keeps the loaded (then disposed) store reachable when memory is measured.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static List<BenchmarkRow> LoadAndCheckpoint(string path, string snapshots, string installed)
    {
        using var machine = KvStateMachine.Open(path);
        var apply = Apply(machine);
        var checkpoint = Stopwatch.StartNew();
        machine.Checkpoint();
        var checkpointed = checkpoint.Elapsed;

        var write = Stopwatch.StartNew();
        var snapshot = new SnapshotStore(snapshots)
            .SaveAsync(new SnapshotMetadata(machine.AppliedIndex, 1, new Membership([1])), machine.WriteSnapshotAsync)
            .GetAwaiter().GetResult();
        var written = write.Elapsed;

        using var target = KvStateMachine.Open(installed);
        var install = Stopwatch.StartNew();
        using (var data = snapshot.OpenData())
        {
            target.RestoreSnapshot(data);
        }

        var restored = install.Elapsed;
        if (target.KeyCount != Keys || target.AppliedIndex != machine.AppliedIndex || target.Revision != machine.Revision)
        {
            throw new InvalidOperationException($"installed {target.KeyCount} keys at applied index {target.AppliedIndex}; the snapshot holds {Keys} at {machine.AppliedIndex}");
        }

        return
        [
            apply,
            OneShot("checkpoint 1M keys (fold-over, to disk)", checkpointed),
            OneShot($"snapshot write 1M keys ({snapshot.Length / MiB:F0} MiB file, streamed, synced)", written),
            OneShot("snapshot install 1M keys (check, load, checkpoint)", restored),
        ];
    }

    // Keys are visited in a scrambled order (7919 is prime and does not divide 1M, so i * 7919 mod 1M is a
    // permutation): the sorted key set then inserts all over, as with real keys. A batch's entries are encoded before
    // its timing starts; only Apply is timed.
    private static BenchmarkRow Apply(KvStateMachine machine)
    {
        var value = new byte[ValueBytes];
        new Random(42).NextBytes(value);
        var entries = new Entry[Batch];
        var latencies = new List<double>(Keys / Batch);
        var total = TimeSpan.Zero;
        for (var first = 0; first < Keys; first += Batch)
        {
            for (var i = 0; i < Batch; i++)
            {
                var key = Encoding.ASCII.GetBytes($"key/{(first + i) * 7919L % Keys:D7}");
                entries[i] = new Entry(first + i + 1, 1, EntryType.Normal, KvCommand.Put(key, value).Encode());
            }

            var start = Stopwatch.GetTimestamp();
            foreach (var entry in entries)
            {
                machine.Apply(entry);
            }

            var elapsed = Stopwatch.GetElapsedTime(start);
            total += elapsed;
            latencies.Add(elapsed.TotalMilliseconds);
        }

        if (machine.KeyCount != Keys)
        {
            throw new InvalidOperationException($"applied {Keys} Puts of distinct keys and the store holds {machine.KeyCount}");
        }

        latencies.Sort();
        return new BenchmarkRow(SystemName, $"apply put {ValueBytes}B, 1M new keys, x{Batch} (ms/batch)", Math.Round(Keys / total.TotalSeconds),
            Percentile(latencies, 0.50), Percentile(latencies, 0.99));
    }

    private static BenchmarkRow OneShot(string scenario, TimeSpan elapsed) =>
        new(SystemName, scenario, Math.Round(Keys / elapsed.TotalSeconds), Math.Round(elapsed.TotalMilliseconds, 4), Math.Round(elapsed.TotalMilliseconds, 4));

    private static (long Heap, long WorkingSet) Memory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var heap = GC.GetTotalMemory(forceFullCollection: true);
        using var process = Process.GetCurrentProcess();
        return (heap, process.WorkingSet64);
    }

    private static double Percentile(List<double> sorted, double p) =>
        Math.Round(sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))], 4);
}
