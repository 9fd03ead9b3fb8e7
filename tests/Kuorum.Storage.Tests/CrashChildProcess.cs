using System.Diagnostics;
using System.Globalization;
using Kuorum.Raft;

namespace Kuorum.Storage.Tests;

/// <summary>What a crash-test child printed before it was killed.</summary>
public sealed record KilledChild(IReadOnlyList<string> Lines)
{
    /// <summary>The child printed "open …": its store was open before the kill.</summary>
    public bool Opened => Lines.Any(IsOpen);

    /// <summary>The highest "durable N" the child printed, or 0.</summary>
    public long HighestDurable => Lines
        .Where(l => l.StartsWith("durable ", StringComparison.Ordinal))
        .Select(l => long.Parse(l["durable ".Length..], CultureInfo.InvariantCulture))
        .DefaultIfEmpty(0)
        .Max();

    internal static bool IsOpen(string line) => line.StartsWith("open", StringComparison.Ordinal);
}

/// <summary>
/// Starts Kuorum.Storage.CrashChild with some arguments and kills it with SIGKILL: one time in four at a random moment
/// of start-up or recovery, otherwise a random while after it reported its store open.
/// </summary>
public static class CrashChildProcess
{
    public static async Task<KilledChild> RunAndKillAsync(SeededRandom random, int maxStartupDelayMs, int maxRunDelayMs, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Kuorum.Storage.CrashChild.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var child = Process.Start(start)!;

        // Blocking reads on threads of their own: reading a child's pipes asynchronously holds thread-pool threads,
        // and on 2 cores that starves the pool at start-up, so "open" would be seen (and the child killed) late.
        var stderr = Task.Factory.StartNew(child.StandardError.ReadToEnd, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var lines = new List<string>();
        var readAll = Task.Factory.StartNew(() => ReadLines(child, lines), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        if (random.Next(4) == 0)
        {
            await Task.Delay(random.Next(maxStartupDelayMs));
        }
        else
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (!HasOpened(lines) && !child.HasExited)
            {
                await Task.Delay(1, timeout.Token);
            }

            // Let the writer report one to three more steps first, then a random moment: on a loaded machine a
            // fixed delay alone can end most runs before a single write, leaving nothing to test.
            var target = DurableLines(lines) + 1 + random.Next(3);
            while (DurableLines(lines) < target && !child.HasExited)
            {
                await Task.Delay(1, timeout.Token);
            }

            await Task.Delay(random.Next(maxRunDelayMs));
        }

        if (child.HasExited)
        {
            Assert.Fail($"the writer exited by itself with {child.ExitCode}: {await stderr}");
        }

        child.Kill();
        await child.WaitForExitAsync();
        await readAll;
        return new KilledChild(lines);
    }

    private static bool HasOpened(List<string> lines)
    {
        lock (lines)
        {
            return lines.Any(KilledChild.IsOpen);
        }
    }

    private static int DurableLines(List<string> lines)
    {
        lock (lines)
        {
            return lines.Count(l => l.StartsWith("durable ", StringComparison.Ordinal));
        }
    }

    private static void ReadLines(Process child, List<string> lines)
    {
        while (child.StandardOutput.ReadLine() is { } line)
        {
            lock (lines)
            {
                lines.Add(line);
            }
        }
    }
}
