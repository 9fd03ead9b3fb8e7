using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;

// make bench: every benchmark, a table on the console, and the JSON results under --artifacts (default artifacts/bench).
var arguments = args.ToList();
var artifacts = "artifacts/bench";
var at = arguments.IndexOf("--artifacts");
if (at >= 0 && at + 1 < arguments.Count)
{
    artifacts = arguments[at + 1];
    arguments.RemoveRange(at, 2);
}

if (!arguments.Contains("--filter"))
{
    arguments.AddRange(["--filter", "*"]);
}

var config = DefaultConfig.Instance
    .AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(10).WithLaunchCount(1))
    .AddExporter(JsonExporter.Full)
    .WithArtifactsPath(Path.GetFullPath(artifacts));
var summaries = BenchmarkSwitcher.FromAssembly(typeof(Kuorum.Benchmarks.RaftCoreBenchmarks).Assembly).Run([.. arguments], config).ToList();

// One table for the whole run: medians (these machines are noisy) and the rate they imply.
Console.WriteLine();
Console.WriteLine($"{"benchmark",-58} {"median",12} {"per second",14}");
foreach (var report in summaries.SelectMany(s => s.Reports))
{
    var name = report.BenchmarkCase.Descriptor.WorkloadMethod.Name + report.BenchmarkCase.Parameters.DisplayInfo;
    if (report.ResultStatistics is not { } statistics)
    {
        Console.WriteLine($"{name,-58} {"failed",12}");
        continue;
    }

    Console.WriteLine($"{name,-58} {statistics.Median / 1000,9:F2} us {1e9 / statistics.Median,14:N0}");
}

foreach (var summary in summaries)
{
    Console.WriteLine($"results: {Path.Combine(summary.ResultsDirectoryPath, summary.Title + "-report-full.json")}");
}
