using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Kuorum.Benchmarks;
using Kuorum.Benchmarks.Balancing;
using Kuorum.Benchmarks.Cluster;

// make bench: every suite, one table, and the results as one JSON object with a "results" array, in
// <artifacts>/<suite>-<timestamp>.json (default artifacts/bench); the last line is "bench: results in <path>".
//   --suite all|core|storage|cluster|health   one suite (default all)
//   --quick                            the reduced set (also QUICK=1 in the environment): make bench QUICK=1, < 3 min
// Other arguments go to BenchmarkDotNet (core suite).
var wall = Stopwatch.StartNew();
var arguments = args.ToList();
var artifacts = Take(arguments, "--artifacts") ?? "artifacts/bench";
var suite = Take(arguments, "--suite") ?? "all";
var quick = arguments.Remove("--quick") | (Environment.GetEnvironmentVariable("QUICK") is { Length: > 0 } q && q != "0");
if (suite is not ("all" or "core" or "storage" or "cluster" or "health"))
{
    Console.Error.WriteLine($"--suite must be all, core, storage, cluster or health; got '{suite}'");
    return 2;
}

if (suite is "all" or "cluster" && EtcdCluster.Binary is null)
{
    Console.Error.WriteLine("bench: the cluster suite runs etcd beside Kuorum and there is no etcd on the PATH: run 'make bench-tools' (Debian etcd-server)");
    return 2;
}

Directory.CreateDirectory(artifacts);
var started = DateTime.UtcNow;
var loadAtStart = LoadAverage();
Console.WriteLine($"bench: suite {suite}{(quick ? " (QUICK)" : "")} on {Environment.ProcessorCount} processors, load average {loadAtStart}");
var rows = new List<BenchmarkRow>();
var failures = new List<string>();
if (suite is "all" or "core")
{
    if (!arguments.Contains("--filter"))
    {
        arguments.AddRange(["--filter", "*"]);
    }

    // QUICK: in this process (no generated project to build) and few iterations.
    var job = quick
        ? Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(1).WithIterationCount(3).WithLaunchCount(1)
            .WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(100))
        : Job.Default.WithWarmupCount(3).WithIterationCount(10).WithLaunchCount(1);
    var config = DefaultConfig.Instance
        .AddJob(job)
        .AddExporter(JsonExporter.Full)
        .WithArtifactsPath(Path.GetFullPath(artifacts));
    foreach (var report in BenchmarkSwitcher.FromAssembly(typeof(RaftCoreBenchmarks).Assembly).Run([.. arguments], config).SelectMany(s => s.Reports))
    {
        // Per operation, over BenchmarkDotNet's iterations (each the mean of many operations).
        var name = report.BenchmarkCase.Descriptor.WorkloadMethod.Name + report.BenchmarkCase.Parameters.DisplayInfo;
        var statistics = report.ResultStatistics;
        rows.Add(statistics is null
            ? new BenchmarkRow("kuorum-raft-core", name + " (failed)", double.NaN, double.NaN, double.NaN, 1, 0) { Suite = "core" }
            : new BenchmarkRow("kuorum-raft-core", name, Math.Round(1e9 / statistics.Median), statistics.Median / 1e6, statistics.Percentiles.Percentile(99) / 1e6, 1, statistics.N) { Suite = "core" });
    }
}

if (suite is "all" or "storage")
{
    var scratch = Path.GetFullPath(Path.Combine(artifacts, "scratch"));
    Directory.CreateDirectory(scratch);
    rows.AddRange(StorageBenchmark.Run(scratch, quick ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(3)).Select(r => r with { Suite = "storage" }));
    rows.AddRange(StateMachineBenchmark.Run(scratch).Select(r => r with { Suite = "storage", Clients = r.Clients ?? 1 }));
    Directory.Delete(scratch, recursive: true);
}

if (suite is "all" or "cluster")
{
    try
    {
        rows.AddRange(await ClusterBenchmark.RunAsync(quick ? ClusterBenchmark.Settings.Quick : ClusterBenchmark.Settings.Full, Console.Out));
    }
    catch (Exception e)
    {
        failures.Add($"cluster suite failed: {e}");
        Console.Error.WriteLine($"bench: cluster suite failed: {e}");
    }
}

if (suite is "all" or "health")
{
    try
    {
        rows.AddRange(await HealthBenchmark.RunAsync(quick ? HealthBenchmark.Settings.Quick : HealthBenchmark.Settings.Full, Console.Out, artifacts));
    }
    catch (Exception e)
    {
        failures.Add($"health suite failed: {e}");
        Console.Error.WriteLine($"bench: health suite failed: {e}");
    }
}

Console.WriteLine();
Console.WriteLine($"{"system",-18} {"scenario",-58} {"clients",7} {"ops/s",12} {"p50 ms",10} {"p99 ms",10} {"samples",9}");
foreach (var row in rows)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{row.System,-18} {row.Scenario,-58} {row.Clients,7} {row.OpsPerSecond,12:N0} {row.P50Milliseconds,10:F4} {row.P99Milliseconds,10:F4} {row.Samples,9}"));
}

ClusterBenchmark.PrintComparison(rows, Console.Out);
HealthBenchmark.PrintComparison(rows, Console.Out);

var results = Path.GetFullPath(Path.Combine(artifacts, $"{suite}-{started:yyyyMMdd-HHmmss}.json"));
var document = new Dictionary<string, object?>
{
    ["suite"] = suite,
    ["quick"] = quick,
    ["started_utc"] = started.ToString("O", CultureInfo.InvariantCulture),
    ["seconds"] = Math.Round(wall.Elapsed.TotalSeconds, 1),
    ["machine"] = new Dictionary<string, object>
    {
        ["processors"] = Environment.ProcessorCount,
        ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
        ["runtime"] = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
        // Other work on this shared machine shows here: 1, 5 and 15 minute load averages when the run began and ended.
        ["load_average_start"] = loadAtStart,
        ["load_average_end"] = LoadAverage(),
    },
    ["failures"] = failures,
    ["results"] = rows,
};
var json = new JsonSerializerOptions { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };
await File.WriteAllTextAsync(results, JsonSerializer.Serialize(document, json));
Console.WriteLine($"bench: {rows.Count} rows in {wall.Elapsed.TotalSeconds:F0} s{(quick ? " (QUICK)" : "")}{(failures.Count > 0 ? $", {failures.Count} suite(s) failed" : "")}");
Console.WriteLine($"bench: results in {results}");
return failures.Count == 0 ? 0 : 1;

static string LoadAverage()
{
    try
    {
        return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
    }
    catch (IOException)
    {
        return "?";
    }
}

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
