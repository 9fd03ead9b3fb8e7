using System.Diagnostics;
using System.Runtime.InteropServices;
using Kuorum.Raft;
using Kuorum.Storage.Log;

namespace Kuorum.Benchmarks;

/// <summary>
/// The durable journal on this machine's disk, beside the raw limit measured in the same run: a loop of 4 KiB
/// writes to a file opened with O_DSYNC. Latencies are per durable commit; rates are entries per second.
/// </summary>
public static partial class StorageBenchmark
{
    private const int ODsync = 0x1000;
    private const int OWronly = 0x1;
    private const int OCreat = 0x40;
    /// <summary>Each row runs this long (make bench: 3 s; QUICK: 1 s).</summary>
    public static List<BenchmarkRow> Run(string scratch, TimeSpan duration)
    {
        var rows = new List<BenchmarkRow> { RawSyncWrites(scratch, duration) };
        foreach (var entryBytes in new[] { 100, 1024 })
        {
            foreach (var batch in new[] { 1, 16, 256 })
            {
                rows.Add(JournalAppends(scratch, entryBytes, batch, duration).GetAwaiter().GetResult());
            }
        }

        return rows;
    }

    private static BenchmarkRow RawSyncWrites(string scratch, TimeSpan duration)
    {
        var path = Path.Combine(scratch, "raw-odsync.bin");
        var fd = Open(path, OWronly | OCreat | ODsync, Convert.ToInt32("644", 8));
        if (fd < 0)
        {
            throw new IOException($"open({path}, O_DSYNC) failed: errno {Marshal.GetLastPInvokeError()}");
        }

        var buffer = new byte[4096];
        var latencies = new List<double>();
        try
        {
            var total = Stopwatch.StartNew();
            var offset = 0L;
            while (total.Elapsed < duration)
            {
                var start = Stopwatch.GetTimestamp();
                if (PWrite(fd, buffer, buffer.Length, offset) != buffer.Length)
                {
                    throw new IOException($"pwrite failed: errno {Marshal.GetLastPInvokeError()}");
                }

                latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                offset = (offset + buffer.Length) % (64L << 20);
            }

            return Row("raw-disk", "4KiB write O_DSYNC", latencies.Count / total.Elapsed.TotalSeconds, latencies);
        }
        finally
        {
            _ = Close(fd);
            File.Delete(path);
        }
    }

    private static async Task<BenchmarkRow> JournalAppends(string scratch, int entryBytes, int batch, TimeSpan duration)
    {
        var path = Path.Combine(scratch, $"journal-{entryBytes}-{batch}");
        using (var journal = RaftJournal.Open(path))
        {
            var payload = new byte[entryBytes];
            var latencies = new List<double>();
            var index = 0L;
            var total = Stopwatch.StartNew();
            while (total.Elapsed < duration)
            {
                var entries = new Entry[batch];
                for (var i = 0; i < batch; i++)
                {
                    entries[i] = new Entry(++index, 1, EntryType.Normal, payload);
                }

                var start = Stopwatch.GetTimestamp();
                await journal.AppendAsync(entries, new HardState(1, 1, index));
                latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }

            var row = Row("kuorum-journal", $"append {entryBytes}B x{batch}", index / total.Elapsed.TotalSeconds, latencies);
            Directory.Delete(path, recursive: true);
            return row;
        }
    }

    private static BenchmarkRow Row(string system, string scenario, double opsPerSecond, List<double> latencies)
    {
        latencies.Sort();
        return new BenchmarkRow(system, scenario, Math.Round(opsPerSecond), Percentile(latencies, 0.50), Percentile(latencies, 0.99), 1, latencies.Count);
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : Math.Round(sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))], 4);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "pwrite", SetLastError = true)]
    private static partial nint PWrite(int fd, byte[] buffer, nint count, long offset);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
