using System.Globalization;

namespace Kuorum.Benchmarks.Cluster;

/// <summary>
/// The cluster suite (<c>--suite cluster</c>): a 3-node Kuorum and a 3-member etcd 3.4 on this machine, in the same
/// run, on the same disk, both fsyncing before they acknowledge, driven by the same <see cref="LoadGenerator"/>.
/// <list type="bullet">
/// <item>put 256 B at 1, 16, 64 and 256 closed-loop clients, spread over the three members followers first
/// (<see cref="Routing.Spread"/>: as each application talks to its own sidecar), and straight to the leader;</item>
/// <item>linearizable get (each store's default read) of those keys, same clients and routing;</item>
/// <item>failover: SIGKILL of the leader, then time to the first acknowledged write through a survivor.</item>
/// </list>
/// The points alternate between the systems (Kuorum, then etcd, per point), so a noisy neighbour on this shared
/// machine hits both alike. Rows: ops_per_sec over the measured window, p50/p99 of the calls completed in it.
/// </summary>
public static class ClusterBenchmark
{
    private const string Put = "put 256B";
    private const string Get = "get linearizable";
    private const string Failover = "failover: SIGKILL leader -> first ack'd write";

    /// <summary>What a run does; <see cref="Quick"/> is the reduced set of <c>make bench QUICK=1</c>.</summary>
    public sealed record Settings(TimeSpan SystemWarmup, TimeSpan Warmup, TimeSpan Duration, int[] PutClients, int[] LeaderPutClients, int[] GetClients, int FailoverTrials, bool MatchedTimingEtcd)
    {
        public static Settings Full { get; } = new(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), [1, 16, 64, 256], [1, 64], [1, 16, 64, 256], 10, MatchedTimingEtcd: true);

        public static Settings Quick { get; } = new(TimeSpan.FromSeconds(1.5), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(2), [1, 16, 64, 256], [1], [1, 64], 3, MatchedTimingEtcd: false);
    }

    /// <summary>A failover attempt every 5 ms, each with a 250 ms deadline, alternating between the two survivors.</summary>
    private static readonly TimeSpan _attemptEvery = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan _attemptDeadline = TimeSpan.FromMilliseconds(250);

    public static async Task<List<BenchmarkRow>> RunAsync(Settings settings, TextWriter log, CancellationToken cancellationToken = default)
    {
        var rows = new List<BenchmarkRow>();
        await using var kuorum = new KuorumCluster();
        await using var etcd = new EtcdCluster();
        IClusterUnderTest[] systems = [kuorum, etcd];
        foreach (var system in systems)
        {
            await log.WriteLineAsync($"cluster: starting {system.System}").ConfigureAwait(false);
            await system.StartAsync(cancellationToken).ConfigureAwait(false);
            await log.WriteLineAsync($"cluster: {system.Description}").ConfigureAwait(false);
        }

        var generators = systems.ToDictionary(s => s, s => new LoadGenerator(s, log));

        // Warm-up, not measured: connections to every member, and the JIT of the client and of the agents (which run
        // as `dotnet kuorum-agent.dll`, so their hot paths are recompiled by tiered JIT during their first seconds of
        // load; without this the first point measured Kuorum at 20x its steady latency).
        foreach (var system in systems)
        {
            await generators[system].RunAsync(true, 16, Routing.Spread, TimeSpan.Zero, settings.SystemWarmup, cancellationToken).ConfigureAwait(false);
            await generators[system].RunAsync(true, 1, Routing.Spread, TimeSpan.Zero, settings.SystemWarmup / 3, cancellationToken).ConfigureAwait(false);
            await generators[system].RunAsync(false, 16, Routing.Spread, TimeSpan.Zero, settings.SystemWarmup / 3, cancellationToken).ConfigureAwait(false);
        }

        foreach (var clients in settings.PutClients)
        {
            rows.AddRange(await PointAsync(systems, generators, Put, writes: true, clients, Routing.Spread, settings, log, cancellationToken).ConfigureAwait(false));
        }

        foreach (var clients in settings.LeaderPutClients)
        {
            rows.AddRange(await PointAsync(systems, generators, Put + " via leader", writes: true, clients, Routing.Leader, settings, log, cancellationToken).ConfigureAwait(false));
        }

        foreach (var clients in settings.GetClients)
        {
            rows.AddRange(await PointAsync(systems, generators, Get, writes: false, clients, Routing.Spread, settings, log, cancellationToken).ConfigureAwait(false));
        }

        foreach (var system in systems)
        {
            rows.Add(FailoverRow(system.System, Failover, await generators[system].FailoverAsync(settings.FailoverTrials, _attemptEvery, _attemptDeadline, cancellationToken).ConfigureAwait(false)));
        }

        if (settings.MatchedTimingEtcd)
        {
            // etcd at Kuorum's timing (heartbeat 50 ms, election 500 ms): how much of the failover gap is the timing alone.
            await using var matched = new EtcdCluster(50, 500, "etcd-50/500ms");
            await log.WriteLineAsync("cluster: starting etcd at Kuorum's timing (failover only)").ConfigureAwait(false);
            await matched.StartAsync(cancellationToken).ConfigureAwait(false);
            await log.WriteLineAsync($"cluster: {matched.Description}").ConfigureAwait(false);
            var generator = new LoadGenerator(matched, log);
            await generator.RunAsync(true, 16, Routing.Spread, TimeSpan.Zero, settings.SystemWarmup, cancellationToken).ConfigureAwait(false);
            rows.Add(FailoverRow(matched.System, Failover, await generator.FailoverAsync(settings.FailoverTrials, _attemptEvery, _attemptDeadline, cancellationToken).ConfigureAwait(false)));
        }

        return WithRatios(rows);
    }

    private static async Task<List<BenchmarkRow>> PointAsync(IClusterUnderTest[] systems, Dictionary<IClusterUnderTest, LoadGenerator> generators, string scenario, bool writes, int clients,
        Routing routing, Settings settings, TextWriter log, CancellationToken cancellationToken)
    {
        var rows = new List<BenchmarkRow>();
        foreach (var system in systems)
        {
            var result = await generators[system].RunAsync(writes, clients, routing, settings.Warmup, settings.Duration, cancellationToken).ConfigureAwait(false);
            var row = new BenchmarkRow(system.System, scenario, Math.Round(result.OpsPerSecond), Percentile(result.Latencies, 0.50), Percentile(result.Latencies, 0.99), clients, result.Operations)
            {
                Suite = "cluster",
                Errors = result.Errors,
            };
            rows.Add(row);
            await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"  {system.System,-8} {scenario,-22} {clients,4} clients: {row.OpsPerSecond,8:N0} ops/s  p50 {row.P50Milliseconds,8:F2} ms  p99 {row.P99Milliseconds,8:F2} ms  ({result.Operations} calls, {result.Errors} errors{(result.FirstError is { } e ? ", first: " + e : "")})")).ConfigureAwait(false);
        }

        return rows;
    }

    private static BenchmarkRow FailoverRow(string system, string scenario, FailoverResult result)
    {
        var sorted = result.Milliseconds.Order().ToList();
        return new BenchmarkRow(system, scenario, 0, Percentile(sorted, 0.50), Percentile(sorted, 0.99), 1, sorted.Count)
        {
            Suite = "cluster",
            MaxMilliseconds = sorted.Count > 0 ? Math.Round(sorted[^1], 1) : null,
            Errors = result.Failed,
        };
    }

    /// <summary>Kuorum's figures over etcd's (default timing) on the same scenario and clients, written on Kuorum's row.</summary>
    private static List<BenchmarkRow> WithRatios(List<BenchmarkRow> rows) =>
        rows.Select(row =>
        {
            if (row.System != "kuorum" || rows.FirstOrDefault(r => r.System == "etcd" && r.Scenario == row.Scenario && r.Clients == row.Clients) is not { } etcd)
            {
                return row;
            }

            return row with
            {
                OpsRatio = Ratio(row.OpsPerSecond, etcd.OpsPerSecond),
                P50Ratio = Ratio(row.P50Milliseconds, etcd.P50Milliseconds),
                P99Ratio = Ratio(row.P99Milliseconds, etcd.P99Milliseconds),
            };
        }).ToList();

    private static double? Ratio(double kuorum, double etcd) =>
        etcd > 0 && double.IsFinite(kuorum) && double.IsFinite(etcd) ? Math.Round(kuorum / etcd, 3) : null;

    /// <summary>Nearest-rank percentile of sorted samples (for 10 samples p99 is the largest).</summary>
    public static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : Math.Round(sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)], 3);

    /// <summary>The side-by-side table: one line per scenario and clients, Kuorum beside etcd, with Kuorum/etcd.</summary>
    public static void PrintComparison(IReadOnlyList<BenchmarkRow> rows, TextWriter output)
    {
        var kuorumRows = rows.Where(r => r.Suite == "cluster" && r.System == "kuorum").ToList();
        if (kuorumRows.Count == 0)
        {
            return;
        }

        output.WriteLine();
        output.WriteLine("Kuorum beside etcd (ratio = Kuorum / etcd: above 1 is more ops/s, below 1 is lower latency)");
        output.WriteLine($"{"scenario",-46} {"clients",7} | {"kuorum ops/s",12} {"etcd ops/s",11} {"ratio",6} | {"kuorum p50",10} {"etcd p50",9} {"ratio",6} | {"kuorum p99",10} {"etcd p99",9} {"ratio",6}");
        foreach (var k in kuorumRows)
        {
            var e = rows.FirstOrDefault(r => r.Suite == "cluster" && r.System == "etcd" && r.Scenario == k.Scenario && r.Clients == k.Clients);
            var failover = k.Scenario == Failover;
            var ops = failover ? $"{"",12} {"",11} {"",6}" : $"{k.OpsPerSecond,12:N0} {e?.OpsPerSecond,11:N0} {F(k.OpsRatio),6}";
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{k.Scenario,-46} {(failover ? $"n={k.Samples}" : k.Clients.ToString()),7} | {ops} | {k.P50Milliseconds,10:F2} {e?.P50Milliseconds,9:F2} {F(k.P50Ratio),6} | {k.P99Milliseconds,10:F2} {e?.P99Milliseconds,9:F2} {F(k.P99Ratio),6}"));
        }

        foreach (var other in rows.Where(r => r.Suite == "cluster" && r.System is not ("kuorum" or "etcd")))
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{other.Scenario.Split(':')[0] + " (" + other.System + ")",-46} {"n=" + other.Samples,7} | {"",32} | {other.P50Milliseconds,10:F2} {"",16} | {other.P99Milliseconds,10:F2} (max {other.MaxMilliseconds:F0})"));
        }

        static string F(double? ratio) => ratio is { } r ? r.ToString("F2", CultureInfo.InvariantCulture) : "-";
    }
}
