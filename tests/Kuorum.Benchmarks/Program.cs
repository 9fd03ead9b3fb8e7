using System.Text.Json;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using Kuorum.Benchmarks;

// make bench: every suite, one table, and the JSON results (rows of system, scenario, ops_per_sec, p50_ms, p99_ms)
// under --artifacts (default artifacts/bench). --suite core|storage runs one suite; other arguments go to
// BenchmarkDotNet.
var arguments = args.ToList();
var artifacts = Take(arguments, "--artifacts") ?? "artifacts/bench";
var suite = Take(arguments, "--suite") ?? "all";
if (suite is not ("all" or "core" or "storage"))
{
    Console.Error.WriteLine($"--suite must be all, core or storage; got '{suite}'");
    return 2;
}

Directory.CreateDirectory(artifacts);
var rows = new List<BenchmarkRow>();
if (suite is "all" or "core")
{
    if (!arguments.Contains("--filter"))
    {
        arguments.AddRange(["--filter", "*"]);
    }

    var config = DefaultConfig.Instance
        .AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(10).WithLaunchCount(1))
        .AddExporter(JsonExporter.Full)
        .WithArtifactsPath(Path.GetFullPath(artifacts));
    foreach (var report in BenchmarkSwitcher.FromAssembly(typeof(RaftCoreBenchmarks).Assembly).Run([.. arguments], config).SelectMany(s => s.Reports))
    {
        // Per operation, over BenchmarkDotNet's iterations (each the mean of many operations).
        var name = report.BenchmarkCase.Descriptor.WorkloadMethod.Name + report.BenchmarkCase.Parameters.DisplayInfo;
        var statistics = report.ResultStatistics;
        rows.Add(statistics is null
            ? new BenchmarkRow("kuorum-raft-core", name + " (failed)", double.NaN, double.NaN, double.NaN)
            : new BenchmarkRow("kuorum-raft-core", name, Math.Round(1e9 / statistics.Median), statistics.Median / 1e6, statistics.Percentiles.Percentile(99) / 1e6));
    }
}

if (suite is "all" or "storage")
{
    var scratch = Path.GetFullPath(Path.Combine(artifacts, "scratch"));
    Directory.CreateDirectory(scratch);
    rows.AddRange(StorageBenchmark.Run(scratch));
    rows.AddRange(StateMachineBenchmark.Run(scratch));
    Directory.Delete(scratch, recursive: true);
}

Console.WriteLine();
Console.WriteLine($"{"system",-18} {"scenario",-56} {"ops/s",14} {"p50 ms",10} {"p99 ms",10}");
foreach (var row in rows)
{
    Console.WriteLine($"{row.System,-18} {row.Scenario,-56} {row.OpsPerSecond,14:N0} {row.P50Milliseconds,10:F4} {row.P99Milliseconds,10:F4}");
}

var results = Path.GetFullPath(Path.Combine(artifacts, $"results-{DateTime.UtcNow:yyyyMMdd-HHmmss}.json"));
await File.WriteAllTextAsync(results, JsonSerializer.Serialize(rows, new JsonSerializerOptions { WriteIndented = true }));
Console.WriteLine($"results: {results}");
return 0;

static string? Take(List<string> arguments, string name)
{
    var at = arguments.IndexOf(name);
    if (at < 0 || at + 1 >= arguments.Count)
    {
        return null;
    }

    var value = arguments[at + 1];
    arguments.RemoveRange(at, 2);
    return value;
}
