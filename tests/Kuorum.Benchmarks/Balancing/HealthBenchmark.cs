using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using Kuorum.Api.V1;
using Kuorum.Benchmarks.Balancing.V1;
using Kuorum.Benchmarks.Cluster;
using Kuorum.Client;
using Kuorum.Demo;

namespace Kuorum.Benchmarks.Balancing;

/// <summary>
/// The health suite (<c>--suite health</c>): three replicas of an application (<see cref="ReplicaServer"/>, in this
/// process) beside a 3-node Kuorum (<see cref="LocalCluster"/>, real agent processes) whose agents probe them
/// (grpc.health.v1, every 250 ms, slow above 10 ms) and publish the weighted endpoint table through the log.
/// <list type="number">
/// <item>Picking: replica 2 takes 20 ms per call, the others 2 ms (8 workers each). 32 closed-loop clients call
/// through <see cref="KuorumLoadBalancing"/> channels (<c>kuorum:///?strategy=…</c>, the resolver following
/// <c>Endpoints.Watch</c> of the real agents), one channel per sidecar per strategy, clients dealt over the three
/// sidecars; round-robin, weighted and least-request for the same time each (full: two rounds in the order
/// rr, w, lr, lr, w, rr, so a drift of the machine's load hits all three alike). Throughput, p50/p99, and ratios
/// against round-robin.</item>
/// <item>Failure: a replica's health checks start answering NOT_SERVING; the time until every sidecar's
/// <c>Endpoints.Watch</c> shows its weight at 0, and, when its agent led, until every sidecar names a new leader
/// (whose application is healthy). Then it recovers: the time until its weight is above 0 again.</item>
/// </list>
/// </summary>
public static class HealthBenchmark
{
    /// <summary>The member whose replica is made slow in the picking runs.</summary>
    public const int SlowMember = 2;

    private const int Workers = 8;
    private static readonly TimeSpan _fast = TimeSpan.FromMilliseconds(2);
    private static readonly TimeSpan _slow = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan _callDeadline = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan _trialTimeout = TimeSpan.FromSeconds(10);

    private static readonly string[] _strategies = [EndpointStrategies.RoundRobin, EndpointStrategies.Weighted, EndpointStrategies.LeastRequest];

    /// <summary>Scenario of a picking row.</summary>
    public static string PickerScenario(string strategy) => $"picker {strategy}, replica {SlowMember} slow x10";

    /// <summary>Scenario of the baseline row (full run only): round-robin with every replica fast.</summary>
    public const string BaselineScenario = "picker round-robin, no replica slow";

    private const string FollowerWeightZero = "app fails -> weight 0 (follower's app)";
    private const string LeaderWeightZero = "app fails -> weight 0 (leader's app)";
    private const string LeaderHandOver = "app fails -> healthy leader (leader's app)";
    private const string Recovered = "app recovers -> weight > 0";

    /// <summary>What a run does; <see cref="Quick"/> is the reduced set of <c>make bench QUICK=1</c>.</summary>
    public sealed record Settings(TimeSpan SystemWarmup, TimeSpan Warmup, TimeSpan Duration, int Rounds, int Clients, int LeaderTrials, int FollowerTrials, bool Baseline)
    {
        public static Settings Full { get; } = new(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(8), 2, 32, 5, 5, Baseline: true);

        public static Settings Quick { get; } = new(TimeSpan.FromSeconds(1.5), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(2.5), 1, 32, 2, 2, Baseline: false);
    }

    /// <summary>Runs the suite; when a trial fails, the agents' output goes to <paramref name="artifacts"/>/health-agents-*.log.</summary>
    public static async Task<List<BenchmarkRow>> RunAsync(Settings settings, TextWriter log, string? artifacts = null, CancellationToken cancellationToken = default)
    {
        var suiteClock = Stopwatch.StartNew();
        var rows = new List<BenchmarkRow>();
        var replicas = new List<ReplicaServer>();
        for (var member = 1; member <= 3; member++)
        {
            replicas.Add(await ReplicaServer.StartAsync(member, Workers, member == SlowMember ? _slow : _fast, cancellationToken).ConfigureAwait(false));
        }

        var sidecars = new List<KuorumClient>();
        var watches = new List<TableWatch>();
        var channels = new List<GrpcChannel>();
        LocalCluster? cluster = null;
        try
        {
            await log.WriteLineAsync($"health: 3 replicas of the application on {string.Join(", ", replicas.Select(r => r.Address))}, {Workers} workers each, "
                + $"service time {_fast.TotalMilliseconds} ms, replica {SlowMember}: {_slow.TotalMilliseconds} ms").ConfigureAwait(false);
            cluster = LocalCluster.Start(3, id =>
            [
                "--probe-kind", "grpc", "--probe-port", replicas[(int)id - 1].Port.ToString(CultureInfo.InvariantCulture),
                "--probe-period", "250ms", "--probe-timeout", "200ms", "--probe-slow-threshold", "10ms",
                "--app-address", replicas[(int)id - 1].Address, "--weighting-strategy", "weighted",
            ]);
            await log.WriteLineAsync("health: 3 agents probing them: grpc.health.v1 every 250 ms (timeout 200 ms), slow above 10 ms, failure threshold 3").ConfigureAwait(false);
            await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30), cancellationToken: cancellationToken).ConfigureAwait(false);
            foreach (var agent in cluster.Agents)
            {
                var sidecar = new KuorumClient(new KuorumClientOptions { Address = new Uri($"http://127.0.0.1:{agent.ApiPort}") });
                sidecars.Add(sidecar);
                watches.Add(new TableWatch(agent.Id, sidecar.CallInvoker));
            }

            // The table the picking runs need: every app address, the fast replicas passing at (nearly) full weight,
            // the slow one weighed down.
            var started = Stopwatch.GetTimestamp();
            await RequireAsync(watches, t => t.Members.Count == 3 && t.Members.All(m => m.AppAddress.Length > 0), TimeSpan.FromSeconds(30),
                "every member's app address", cluster, cancellationToken).ConfigureAwait(false);
            // Wait a little for the fast replicas at full weight (a busy machine makes their probes flap to warning now
            // and then; the runs are measured against whatever the agents publish, logged with each run).
            var settled = await AllWaitAsync(watches, t => Weight(t, SlowMember) > 0 && t.Members.Where(m => m.Id != SlowMember).All(m => m.Health == Health.Passing && m.Weight >= 900),
                TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
            await log.WriteLineAsync($"health: table {Describe(watches[0].Latest!)} after {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s (weight and tier per member, * leader)"
                + (settled ? "" : ": the fast replicas were not all passing at full weight within 10 s; going on")).ConfigureAwait(false);

            // 1. Picking.
            var byStrategy = new Dictionary<string, GrpcChannel[]>();
            foreach (var strategy in _strategies)
            {
                byStrategy[strategy] = [.. sidecars.Select(s => KuorumLoadBalancing.CreateChannel(s, strategy))];
                channels.AddRange(byStrategy[strategy]);
            }

            foreach (var strategy in _strategies)
            {
                // Not measured: connections to every replica on every channel, and the JIT of client, replicas and agents.
                await LoadAsync(byStrategy[strategy], settings.Clients, TimeSpan.Zero, settings.SystemWarmup / _strategies.Length, cancellationToken).ConfigureAwait(false);
            }

            var order = settings.Rounds <= 1 ? _strategies : [.. _strategies, .. _strategies.Reverse(), .. settings.Rounds > 2 ? _strategies : []];
            var perStrategy = _strategies.ToDictionary(s => s, _ => new List<Segment>());
            foreach (var strategy in order)
            {
                var segment = await LoadAsync(byStrategy[strategy], settings.Clients, settings.Warmup, settings.Duration / settings.Rounds, cancellationToken).ConfigureAwait(false);
                perStrategy[strategy].Add(segment);
                await log.WriteLineAsync($"  {strategy,-13} {Summary(segment)}; table {TableDuring(watches[0], segment)}").ConfigureAwait(false);
            }

            var pickerRows = _strategies.Select(s => PickerRow(PickerScenario(s), settings.Clients, Merge(perStrategy[s]))).ToList();
            var roundRobin = pickerRows[0];
            rows.AddRange(pickerRows.Select(r => r with
            {
                OpsVsRoundRobin = Ratio(r.OpsPerSecond, roundRobin.OpsPerSecond),
                P50VsRoundRobin = Ratio(r.P50Milliseconds, roundRobin.P50Milliseconds),
                P99VsRoundRobin = Ratio(r.P99Milliseconds, roundRobin.P99Milliseconds),
            }));

            // Every replica fast from here on.
            replicas[SlowMember - 1].ServiceTime = _fast;
            await AllWaitAsync(watches, t => t.Members.All(m => m.Health == Health.Passing && m.Weight >= 900), TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
            if (settings.Baseline)
            {
                var segment = await LoadAsync(byStrategy[EndpointStrategies.RoundRobin], settings.Clients, settings.Warmup, settings.Duration, cancellationToken).ConfigureAwait(false);
                await log.WriteLineAsync($"  {"round-robin",-13} {Summary(segment)} (no replica slow); table {TableDuring(watches[0], segment)}").ConfigureAwait(false);
                rows.Add(PickerRow(BaselineScenario, settings.Clients, segment) with
                {
                    OpsVsRoundRobin = Ratio(segment.OpsPerSecond, roundRobin.OpsPerSecond),
                    P50VsRoundRobin = Ratio(Percentile(segment.Latencies, 0.50), roundRobin.P50Milliseconds),
                    P99VsRoundRobin = Ratio(Percentile(segment.Latencies, 0.99), roundRobin.P99Milliseconds),
                });
            }

            foreach (var channel in channels)
            {
                channel.Dispose();
            }

            channels.Clear();

            // 2. Failure and recovery.
            var trials = await FailureTrialsAsync(settings, cluster, replicas, watches, log, cancellationToken).ConfigureAwait(false);
            rows.AddRange(trials);

            // A member at weight 0 that is not critical was taken for down (no Raft answer in the leader's last check).
            var tables = watches[0].Between(0, Stopwatch.GetTimestamp()).Select(h => h.Table).DistinctBy(t => t.Version).ToList();
            var down = tables.Where(t => t.Members.Any(m => m.Weight == 0 && m.Health != Health.Critical)).Select(t => Describe(t)).ToList();
            await log.WriteLineAsync($"health: {tables.Count} table versions seen by node {watches[0].Member}'s sidecar; {down.Count} with a member at weight 0 that was not critical"
                + (down.Count > 0 ? ": " + string.Join(", ", down.Take(5)) : "")).ConfigureAwait(false);
            if (trials.Any(r => r.Errors > 0) && artifacts is not null)
            {
                var path = Path.GetFullPath(Path.Combine(artifacts, $"health-agents-{DateTime.UtcNow:yyyyMMdd-HHmmss}.log"));
                await File.WriteAllTextAsync(path, string.Join("\n", cluster.Agents.Select(a => $"--- agent {a.Id} ---\n{a.Output}")), cancellationToken).ConfigureAwait(false);
                await log.WriteLineAsync($"health: a trial failed; the agents' output is in {path}").ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (var channel in channels)
            {
                channel.Dispose();
            }

            foreach (var watch in watches)
            {
                await watch.DisposeAsync().ConfigureAwait(false);
            }

            foreach (var sidecar in sidecars)
            {
                await sidecar.DisposeAsync().ConfigureAwait(false);
            }

            if (cluster is not null)
            {
                await cluster.DisposeAsync().ConfigureAwait(false);
            }

            foreach (var replica in replicas)
            {
                await replica.DisposeAsync().ConfigureAwait(false);
            }
        }

        await log.WriteLineAsync($"health: suite done in {suiteClock.Elapsed.TotalSeconds:F0} s").ConfigureAwait(false);
        return rows;
    }

    private static async Task<List<BenchmarkRow>> FailureTrialsAsync(Settings settings, LocalCluster cluster, List<ReplicaServer> replicas, List<TableWatch> watches, TextWriter log, CancellationToken cancellationToken)
    {
        var weightZero = new Dictionary<bool, List<double>> { [true] = [], [false] = [] };
        var handOver = new List<double>();
        var recovered = new List<double>();
        var failed = new Dictionary<string, long> { [FollowerWeightZero] = 0, [LeaderWeightZero] = 0, [LeaderHandOver] = 0, [Recovered] = 0 };
        var kinds = new List<bool>();
        for (var i = 0; i < Math.Max(settings.LeaderTrials, settings.FollowerTrials); i++)
        {
            if (i < settings.LeaderTrials)
            {
                kinds.Add(true);
            }

            if (i < settings.FollowerTrials)
            {
                kinds.Add(false);
            }
        }

        var followerTurn = 0;
        for (var trial = 0; trial < kinds.Count; trial++)
        {
            var ofLeader = kinds[trial];
            // Steady first: every sidecar serves a table with everyone passing, and they agree on the leader.
            await RequireAsync(watches, Steady, TimeSpan.FromSeconds(30), "every member serving (weight > 0, not critical) and a leader", cluster, cancellationToken).ConfigureAwait(false);
            var leader = (await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(10), cancellationToken: cancellationToken).ConfigureAwait(false)).Id;
            await RequireAsync(watches, t => Leader(t) == leader, TimeSpan.FromSeconds(10), $"every sidecar naming leader {leader}", cluster, cancellationToken).ConfigureAwait(false);
            var followers = cluster.Agents.Select(a => a.Id).Where(id => id != leader).ToArray();
            var target = ofLeader ? leader : followers[followerTurn++ % followers.Length];
            var observer = watches.First(w => w.Member != target);

            var failedAt = Stopwatch.GetTimestamp();
            replicas[(int)target - 1].Failing = true;
            var zero = await AllSeeAsync(watches, failedAt, t => Weight(t, target) == 0, cancellationToken).ConfigureAwait(false);
            var newLeader = ofLeader ? await AllSeeAsync(watches, failedAt, t => Leader(t) is var l && l != 0 && l != target, cancellationToken).ConfigureAwait(false) : null;
            var trace = string.Join(", ", observer.Between(failedAt, Stopwatch.GetTimestamp()).Skip(1).Select(h => $"{Ms(failedAt, h.At):F0} ms {Describe(h.Table)}"));

            var recoveredAt = Stopwatch.GetTimestamp();
            replicas[(int)target - 1].Failing = false;
            var back = await AllSeeAsync(watches, recoveredAt, t => Weight(t, target) > 0, cancellationToken).ConfigureAwait(false);

            var kind = ofLeader ? LeaderWeightZero : FollowerWeightZero;
            Record(zero, weightZero[ofLeader], kind);
            if (ofLeader)
            {
                Record(newLeader, handOver, LeaderHandOver);
            }

            Record(back, recovered, Recovered);
            var handed = ofLeader ? $", every sidecar names leader {(observer.Latest is { } latest ? Leader(latest) : 0)} after {F(newLeader?.Last)}" : "";
            await log.WriteLineAsync($"  trial {trial + 1}/{kinds.Count}: the app of node {target} ({(ofLeader ? "leader" : "follower")}) fails: weight 0 on every sidecar after "
                + $"{F(zero?.Last)} (first {F(zero?.First)}){handed}; recovers: weight > 0 after {F(back?.Last)}").ConfigureAwait(false);
            await log.WriteLineAsync($"    tables seen by node {observer.Member}'s sidecar: {trace}").ConfigureAwait(false);

            void Record((double First, double Last)? sample, List<double> samples, string scenario)
            {
                if (sample is { } s)
                {
                    samples.Add(s.Last);
                }
                else
                {
                    failed[scenario]++;
                }
            }
        }

        return
        [
            TrialRow(FollowerWeightZero, weightZero[false], failed[FollowerWeightZero]),
            TrialRow(LeaderWeightZero, weightZero[true], failed[LeaderWeightZero]),
            TrialRow(LeaderHandOver, handOver, failed[LeaderHandOver]),
            TrialRow(Recovered, recovered, failed[Recovered]),
        ];

        static string F(double? ms) => ms is { } v ? v.ToString("F0", CultureInfo.InvariantCulture) + " ms" : "(not within 10 s)";
    }

    /// <summary>
    /// When every sidecar's watch has shown a table satisfying <paramref name="condition"/> after <paramref name="from"/>:
    /// milliseconds to the first and to the last sidecar; null when one did not within the trial timeout.
    /// </summary>
    private static async Task<(double First, double Last)?> AllSeeAsync(List<TableWatch> watches, long from, Func<EndpointTable, bool> condition, CancellationToken cancellationToken)
    {
        var seen = await Task.WhenAll(watches.Select(w => w.FirstAfterAsync(from, condition, _trialTimeout, cancellationToken))).ConfigureAwait(false);
        return seen.Any(s => s is null) ? null : (Ms(from, seen.Min(s => s!.Value)), Ms(from, seen.Max(s => s!.Value)));
    }

    private static async Task RequireAsync(List<TableWatch> watches, Func<EndpointTable, bool> condition, TimeSpan timeout, string what, LocalCluster cluster, CancellationToken cancellationToken)
    {
        var all = await Task.WhenAll(watches.Select(w => w.WaitForAsync(condition, timeout, cancellationToken))).ConfigureAwait(false);
        if (!all.All(ok => ok))
        {
            throw new TimeoutException($"health: no table with {what} within {timeout.TotalSeconds:F0} s; latest: "
                + string.Join("; ", watches.Select(w => $"node {w.Member}: {(w.Latest is { } t ? Describe(t) : "none")}")) + "\n" + cluster.Dump());
        }
    }

    private static bool Steady(EndpointTable t) =>
        t.Members.Count == 3 && t.Members.All(m => m.Health is Health.Passing or Health.Warning && m.Weight > 0) && Leader(t) != 0;

    private static async Task<bool> AllWaitAsync(List<TableWatch> watches, Func<EndpointTable, bool> condition, TimeSpan timeout, CancellationToken cancellationToken) =>
        (await Task.WhenAll(watches.Select(w => w.WaitForAsync(condition, timeout, cancellationToken))).ConfigureAwait(false)).All(ok => ok);

    /// <summary>What one load run measured: calls started inside the measured window, with their latencies and who served them.</summary>
    private sealed record Segment(List<double> Latencies, long[] PerMember, double Seconds, long Errors, string? FirstError, long From, long Until)
    {
        public double OpsPerSecond => Latencies.Count / Seconds;
    }

    /// <summary>
    /// <paramref name="clients"/> closed-loop clients (client c on channel c mod n) for <paramref name="warmup"/> plus
    /// <paramref name="duration"/>; a call counts when it started inside the measured window (it may end after it).
    /// </summary>
    private static async Task<Segment> LoadAsync(GrpcChannel[] channels, int clients, TimeSpan warmup, TimeSpan duration, CancellationToken cancellationToken)
    {
        var from = Stopwatch.GetTimestamp() + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        var until = from + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var workers = Enumerable.Range(0, clients)
            .Select(c => Task.Run(() => ClientAsync(new V1.Replica.ReplicaClient(channels[c % channels.Length]), c, from, until, cancellationToken), cancellationToken))
            .ToArray();
        var results = await Task.WhenAll(workers).ConfigureAwait(false);
        var latencies = results.SelectMany(r => r.Latencies).ToList();
        latencies.Sort();
        var perMember = new long[4];
        foreach (var result in results)
        {
            for (var m = 0; m < perMember.Length; m++)
            {
                perMember[m] += result.PerMember[m];
            }
        }

        return new Segment(latencies, perMember, duration.TotalSeconds, results.Sum(r => r.Errors), results.Select(r => r.FirstError).FirstOrDefault(e => e is not null), from, until);
    }

    private static async Task<(List<double> Latencies, long[] PerMember, long Errors, string? FirstError)> ClientAsync(V1.Replica.ReplicaClient client, int index, long from, long until, CancellationToken cancellationToken)
    {
        var latencies = new List<double>(4096);
        var perMember = new long[4];
        var errors = 0L;
        string? firstError = null;
        var request = new WorkRequest { Client = index };
        while (!cancellationToken.IsCancellationRequested)
        {
            var start = Stopwatch.GetTimestamp();
            if (start >= until)
            {
                break;
            }

            try
            {
                var reply = await client.WorkAsync(request, deadline: DateTime.UtcNow + _callDeadline, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (start >= from)
                {
                    latencies.Add(Ms(start, Stopwatch.GetTimestamp()));
                    perMember[Math.Clamp(reply.Replica, 0, perMember.Length - 1)]++;
                }
            }
            catch (RpcException e)
            {
                if (start >= from)
                {
                    errors++;
                    firstError ??= $"{e.StatusCode}: {e.Status.Detail}";
                }

                await Task.Delay(10, cancellationToken).ConfigureAwait(false);
            }
        }

        return (latencies, perMember, errors, firstError);
    }

    private static Segment Merge(List<Segment> segments)
    {
        var latencies = segments.SelectMany(s => s.Latencies).ToList();
        latencies.Sort();
        var perMember = new long[4];
        foreach (var segment in segments)
        {
            for (var m = 0; m < perMember.Length; m++)
            {
                perMember[m] += segment.PerMember[m];
            }
        }

        return new Segment(latencies, perMember, segments.Sum(s => s.Seconds), segments.Sum(s => s.Errors), segments.Select(s => s.FirstError).FirstOrDefault(e => e is not null), segments[0].From, segments[^1].Until);
    }

    private static BenchmarkRow PickerRow(string scenario, int clients, Segment segment) =>
        new("kuorum", scenario, Math.Round(segment.OpsPerSecond), Percentile(segment.Latencies, 0.50), Percentile(segment.Latencies, 0.99), clients, segment.Latencies.Count)
        {
            Suite = "health",
            Errors = segment.Errors,
            SlowReplicaShare = segment.Latencies.Count > 0 ? Math.Round(segment.PerMember[SlowMember] / (double)segment.Latencies.Count, 4) : null,
        };

    private static BenchmarkRow TrialRow(string scenario, List<double> samples, long failed)
    {
        var sorted = samples.Order().ToList();
        return new BenchmarkRow("kuorum", scenario, 0, Percentile(sorted, 0.50), Percentile(sorted, 0.99), 1, sorted.Count)
        {
            Suite = "health",
            MaxMilliseconds = sorted.Count > 0 ? Math.Round(sorted[^1], 1) : null,
            Errors = failed,
        };
    }

    private static string Summary(Segment s) => string.Create(CultureInfo.InvariantCulture,
        $"{s.OpsPerSecond,7:N0} calls/s  p50 {Percentile(s.Latencies, 0.50),7:F2} ms  p99 {Percentile(s.Latencies, 0.99),7:F2} ms  served by 1/2/3: "
        + $"{Share(s, 1):P0}/{Share(s, 2):P0}/{Share(s, 3):P0} ({s.Latencies.Count} calls, {s.Errors} errors{(s.FirstError is { } e ? ", first: " + e : "")})");

    private static double Share(Segment s, int member) => s.Latencies.Count == 0 ? 0 : s.PerMember[member] / (double)s.Latencies.Count;

    /// <summary>The table versions in force during a segment's measured window, with each member's weight range.</summary>
    private static string TableDuring(TableWatch watch, Segment segment)
    {
        var tables = watch.Between(segment.From, segment.Until).Select(h => h.Table).ToList();
        if (tables.Count == 0)
        {
            return "none";
        }

        var versions = tables.Select(t => t.Version).Distinct().ToList();
        var weights = tables.SelectMany(t => t.Members).GroupBy(m => m.Id).OrderBy(g => g.Key)
            .Select(g => g.Min(m => m.Weight) == g.Max(m => m.Weight) ? $"{g.Key}:{g.Min(m => m.Weight)}" : $"{g.Key}:{g.Min(m => m.Weight)}-{g.Max(m => m.Weight)}");
        return $"{(versions.Count == 1 ? $"v{versions[0]}" : $"v{versions[0]}-v{versions[^1]}")} weights {string.Join(" ", weights)}";
    }

    private static int Weight(EndpointTable table, long member) => table.Members.FirstOrDefault(m => m.Id == member)?.Weight ?? -1;

    private static long Leader(EndpointTable table) => table.Members.FirstOrDefault(m => m.Role == Role.Leader)?.Id ?? 0;

    /// <summary>v12 1:1000P* 2:194W 3:1000P — weight and tier (Passing, Warning, Critical, Unknown) per member, * the leader as the serving sidecar sees it.</summary>
    private static string Describe(EndpointTable table) =>
        $"v{table.Version} " + string.Join(" ", table.Members.OrderBy(m => m.Id).Select(m =>
            $"{m.Id}:{m.Weight}{m.Health switch { Health.Passing => "P", Health.Warning => "W", Health.Critical => "C", _ => "U" }}{(m.Role == Role.Leader ? "*" : "")}"));

    private static double Ms(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;

    private static double Percentile(List<double> sorted, double p) => ClusterBenchmark.Percentile(sorted, p);

    private static double? Ratio(double value, double baseline) =>
        baseline > 0 && double.IsFinite(value) && double.IsFinite(baseline) ? Math.Round(value / baseline, 3) : null;

    /// <summary>The strategies side by side, with ratios against round-robin, then the failure timings.</summary>
    public static void PrintComparison(IReadOnlyList<BenchmarkRow> rows, TextWriter output)
    {
        var health = rows.Where(r => r.Suite == "health").ToList();
        if (health.Count == 0)
        {
            return;
        }

        output.WriteLine();
        output.WriteLine($"Endpoint strategies with replica {SlowMember} ten times slower (ratio = strategy / round-robin: above 1 is more calls/s, below 1 is lower latency)");
        output.WriteLine($"{"scenario",-40} {"clients",7} | {"calls/s",9} {"ratio",6} | {"p50 ms",8} {"ratio",6} | {"p99 ms",8} {"ratio",6} | {"to slow",7}");
        foreach (var r in health.Where(r => r.OpsPerSecond > 0))
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Scenario,-40} {r.Clients,7} | {r.OpsPerSecond,9:N0} {R(r.OpsVsRoundRobin),6} | {r.P50Milliseconds,8:F2} {R(r.P50VsRoundRobin),6} | {r.P99Milliseconds,8:F2} {R(r.P99VsRoundRobin),6} | {r.SlowReplicaShare,7:P1}"));
        }

        output.WriteLine();
        output.WriteLine("Health failure and recovery, seen on every sidecar's Endpoints.Watch (probe every 250 ms, failure threshold 3)");
        output.WriteLine($"{"scenario",-44} {"trials",6} | {"p50 ms",8} {"max ms",8} | {"failed",6}");
        foreach (var r in health.Where(r => r.OpsPerSecond == 0))
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Scenario,-44} {r.Samples,6} | {r.P50Milliseconds,8:F0} {r.MaxMilliseconds,8:F0} | {r.Errors,6}"));
        }

        static string R(double? ratio) => ratio is { } v ? v.ToString("F2", CultureInfo.InvariantCulture) : "-";
    }
}
