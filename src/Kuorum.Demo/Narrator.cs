using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using Kuorum.Api.V1;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Kuorum.Demo;

/// <summary>
/// <c>make run</c>: starts three agents and the demo application on loopback and walks through what Kuorum is for —
/// election, replication, reads through a follower, failover after SIGKILL with no acknowledged write lost, catch-up
/// of a restarted member, and a graceful hand-over — measuring each step. Any failed check ends the demo with a
/// non-zero exit code; the last line is <c>demo: ok</c> when everything held.
/// </summary>
public sealed class Narrator : IAsyncDisposable
{
    private const int Writes = 200;
    private readonly LocalCluster _cluster;
    private readonly List<DemoProcess> _apps = [];
    private readonly List<string> _log = [];
    private readonly ConcurrentDictionary<long, string> _states = new();
    private readonly bool _interactive = AnsiConsole.Profile.Capabilities.Interactive;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private Action? _refresh;

    private readonly Dictionary<long, int> _appPorts;

    private Narrator(LocalCluster cluster, Dictionary<long, int> appPorts)
    {
        _cluster = cluster;
        _appPorts = appPorts;
    }

    /// <summary>Runs the demo; returns the exit code.</summary>
    public static async Task<int> RunAsync()
    {
        AnsiConsole.MarkupLine("[bold]Kuorum demo[/]: three agents and a demo application on 127.0.0.1, no Kubernetes needed.");
        // Each agent probes the demo application beside it (and publishes its address) every 250 ms; 30 ms is slow.
        var appPorts = Enumerable.Range(1, 3).ToDictionary(i => (long)i, _ => LocalAgent.FreePort());
        await using var narrator = new Narrator(LocalCluster.Create(3, id =>
        [
            "--probe-kind", "http", "--probe-port", appPorts[id].ToString(CultureInfo.InvariantCulture), "--probe-path", "/healthz",
            "--probe-period", "250ms", "--probe-timeout", "200ms", "--probe-slow-threshold", "30ms", "--probe-initial-delay", "1s",
            "--app-address", $"127.0.0.1:{appPorts[id]}",
        ]), appPorts);
        AnsiConsole.MarkupLine($"agents' data under [grey]{narrator._cluster.Root}[/]");
        try
        {
            if (narrator._interactive)
            {
                await AnsiConsole.Live(narrator.Render()).AutoClear(false).StartAsync(async live =>
                {
                    narrator._refresh = () => live.UpdateTarget(narrator.Render());
                    using var refresher = new CancellationTokenSource();
                    var refreshing = narrator.RefreshLoopAsync(refresher.Token);
                    try
                    {
                        await narrator.ScriptAsync();
                    }
                    finally
                    {
                        await refresher.CancelAsync();
                        await refreshing;
                    }
                });
            }
            else
            {
                await narrator.ScriptAsync();
            }
        }
        catch (Exception e) when (e is DemoFailedException or TimeoutException or InvalidOperationException or RpcException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]demo: failed[/]: {e.Message}");
            Console.WriteLine(narrator._cluster.Dump());
            return 1;
        }

        Console.WriteLine("demo: ok");
        return 0;
    }

    private async Task ScriptAsync()
    {
        // The demo application first (it waits for its sidecar), so the agents' first probes find it up.
        foreach (var agent in _cluster.Agents)
        {
            _apps.Add(DemoProcess.Start($"app-{agent.Id}", agent.ApiPort, _appPorts[agent.Id]));
        }

        _cluster.StartAll();

        // 1. Election.
        var started = _clock.Elapsed;
        var leader = await _cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        var term = (await leader.Leadership.GetLeaderAsync(new GetLeaderRequest())).Term;
        Say($"leader elected: node {leader.Id} in term {term}, {Ms(_clock.Elapsed - started)} after the agents started");
        await ShowStatusAsync();

        // 2. The demo application beside each agent.
        var counter = await WaitForCounterAsync(leader, 3);
        Say($"demo application: 3 replicas; the one beside node {leader.Id} leads and counts (demo/counter = {counter}), each count fenced by term {term}");

        // 3. Replication, and a linearizable read through a follower.
        var followers = _cluster.Agents.Where(a => a != leader).ToList();
        var acknowledged = new ConcurrentDictionary<string, bool>();
        var latencies = new List<double>();
        for (var i = 0; i < Writes; i++)
        {
            var via = i % 2 == 0 ? leader : followers[0];
            var sw = Stopwatch.StartNew();
            await via.Kv.PutAsync(new PutRequest { Key = Key($"demo/write/{i:D4}"), Value = Key($"value {i}") }, deadline: Deadline(5));
            latencies.Add(sw.Elapsed.TotalMilliseconds);
            acknowledged[$"demo/write/{i:D4}"] = true;
        }

        latencies.Sort();
        var read = await followers[1].Kv.RangeAsync(new RangeRequest { Prefix = Key("demo/write/"), Consistency = Consistency.Linearizable });
        Check(read.Kvs.Count == Writes, $"a linearizable read through follower node {followers[1].Id} returned {read.Kvs.Count} of {Writes} writes");
        Say($"{Writes} writes, half through the leader and half through follower node {followers[0].Id} (forwarded): p50 {latencies[Writes / 2]:F1} ms, p99 {latencies[Writes * 99 / 100]:F1} ms; a linearizable read through follower node {followers[1].Id} sees all {Writes}");

        // 4. Health and weights: one endpoint table, published by the leader through the log.
        var table = await WaitForTableAsync(leader, t => t.Version > 0 && t.Members.Count == 3 && t.Members.All(m => m.Weight > 0 && m.Health == Health.Passing), "every member passing");
        leader = await _cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(10));
        followers = _cluster.Agents.Where(a => a != leader).ToList();
        Say($"endpoint table v{table.Version} ({table.Strategy}): {Describe(table)}");
        var slow = followers[0];
        await App(slow).SetModeAsync("slow");
        var slowed = Stopwatch.StartNew();
        table = await WaitForTableAsync(leader, t => t.Members.FirstOrDefault(m => m.Id == slow.Id) is { Health: Health.Warning, Weight: > 0 } m
            && m.Weight * 2 < t.Members.Where(o => o.Id != slow.Id).Min(o => o.Weight), $"node {slow.Id}'s weight to drop");
        Say($"the application beside node {slow.Id} answers 60 ms slower: {Ms(slowed.Elapsed)} later its weight is {Weight(table, slow.Id)} (v{table.Version}: {Describe(table)})");
        await App(slow).SetModeAsync("ok");

        var failing = leader;
        await App(failing).SetModeAsync("fail");
        var failedAt = Stopwatch.StartNew();
        leader = await _cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30), not: failing);
        var handedAfter = failedAt.Elapsed;
        table = await WaitForTableAsync(leader, t => Weight(t, failing.Id) == 0, $"node {failing.Id}'s weight to reach 0");
        Say($"the application beside the leader, node {failing.Id}, fails its health checks: node {failing.Id} handed leadership to node {leader.Id} after {Ms(handedAfter)} (3 failed probes of 250 ms, then TimeoutNow) and its weight is 0 after {Ms(failedAt.Elapsed)} (v{table.Version}: {Describe(table)})");
        await App(failing).SetModeAsync("ok");
        table = await WaitForTableAsync(leader, t => Weight(t, failing.Id) > 0, $"node {failing.Id} to come back");
        Say($"node {failing.Id}'s application is healthy again: it is back in the table, weight {Weight(table, failing.Id)} and rising (slow start)");
        followers = _cluster.Agents.Where(a => a != leader).ToList();

        // 5. Failover after SIGKILL of the leader, with writers running on every member.
        using var writing = new CancellationTokenSource();
        var writers = _cluster.Agents.Select(a => WriteLoopAsync(a, acknowledged, writing.Token)).ToList();
        await Task.Delay(300);
        var killed = leader;
        var pid = killed.Pid;
        var killedAt = Stopwatch.StartNew();
        await killed.KillAsync();
        _states[killed.Id] = "killed (SIGKILL)";
        Say($"SIGKILL to the leader, node {killed.Id} (pid {pid})");
        var (newLeader, firstWrite) = await FirstAcceptedWriteAsync(killed, killedAt);
        var electedTerm = (await newLeader.Leadership.GetLeaderAsync(new GetLeaderRequest())).Term;
        Say($"node {newLeader.Id} leads term {electedTerm} and accepted a write {Ms(firstWrite)} after the kill");
        await ShowStatusAsync();
        await Task.Delay(300);
        await writing.CancelAsync();
        await Task.WhenAll(writers);

        // 6. No acknowledged write lost.
        var present = (await newLeader.Kv.RangeAsync(new RangeRequest { Prefix = Key("demo/") })).Kvs.Select(kv => kv.Key.ToStringUtf8()).ToHashSet();
        var missing = acknowledged.Keys.Where(k => !present.Contains(k)).ToList();
        Check(missing.Count == 0, $"{missing.Count} acknowledged writes are missing, e.g. {string.Join(", ", missing.Take(3))}");
        Say($"every acknowledged write is there: {acknowledged.Count} acknowledged (including {acknowledged.Count - Writes} made during the failover), 0 missing");

        // 7. The killed node comes back and catches up.
        var restartedAt = Stopwatch.StartNew();
        killed.Start(_cluster.Peers);
        _states.TryRemove(killed.Id, out _);
        await WaitUntilAsync(async () =>
        {
            var leaderStatus = await newLeader.Admin.StatusAsync(new StatusRequest(), deadline: Deadline(1));
            var status = await killed.Admin.StatusAsync(new StatusRequest(), deadline: Deadline(1));
            return status.LeaderId == newLeader.Id && status.AppliedIndex >= leaderStatus.CommitIndex;
        }, "the restarted node to catch up");
        var copy = await killed.Kv.RangeAsync(new RangeRequest { Prefix = Key("demo/write/"), Consistency = Consistency.Stale });
        Check(copy.Kvs.Count >= Writes, $"the restarted node holds {copy.Kvs.Count} of the writes");
        Say($"node {killed.Id} restarted from its data directory and caught up in {Ms(restartedAt.Elapsed)}");

        // 8. Graceful stop of the leader: it hands leadership over first.
        var stopping = newLeader;
        var stopAt = Stopwatch.StartNew();
        var stopTask = stopping.StopAsync(TimeSpan.FromSeconds(10));
        _states[stopping.Id] = "stopping (SIGTERM)";
        var (successor, resumed) = await FirstAcceptedWriteAsync(stopping, stopAt);
        await stopTask;
        _states[stopping.Id] = $"stopped (exit {stopping.ExitCode})";
        Check(stopping.ExitCode == 0, $"node {stopping.Id} exited with {stopping.ExitCode} after SIGTERM");
        var handed = stopping.Output.Split('\n').LastOrDefault(l => l.Contains("handed leadership", StringComparison.Ordinal))?.Trim();
        Check(handed is not null, $"node {stopping.Id} stopped without handing leadership over");
        Say($"SIGTERM to the leader, node {stopping.Id}: it handed leadership to node {successor.Id}, which accepted a write {Ms(resumed)} after the signal");
        await ShowStatusAsync();

        // 9. The fenced counter only went up.
        var final = await WaitForCounterAsync(successor, counter + 1);
        Say($"demo/counter went from {counter} to {final} across four leaderships; fenced counts never raced");
        Say("stopping everything and removing the data");
    }

    private DemoProcess App(LocalAgent agent) => _apps[(int)agent.Id - 1];

    private static int Weight(EndpointTable table, long id) => table.Members.FirstOrDefault(m => m.Id == id)?.Weight ?? -1;

    private static string Describe(EndpointTable table) =>
        string.Join(", ", table.Members.Select(m => $"node {m.Id} {m.Role.ToString().ToLowerInvariant()} {m.Health.ToString().ToLowerInvariant()} weight {m.Weight}"));

    private async Task<EndpointTable> WaitForTableAsync(LocalAgent via, Func<EndpointTable, bool> condition, string what)
    {
        EndpointTable? table = null;
        await WaitUntilAsync(async () =>
        {
            table = await new Endpoints.EndpointsClient(via.Channel).ListAsync(new EndpointsRequest(), deadline: Deadline(1));
            return condition(table);
        }, what);
        return table!;
    }

    private async Task WriteLoopAsync(LocalAgent agent, ConcurrentDictionary<string, bool> acknowledged, CancellationToken token)
    {
        for (var i = 0; !token.IsCancellationRequested; i++)
        {
            var key = $"demo/failover/{agent.Id}/{i:D5}";
            try
            {
                await agent.Kv.PutAsync(new PutRequest { Key = Key(key), Value = Key("x") }, deadline: Deadline(2), cancellationToken: token);
                acknowledged[key] = true;
            }
            catch (RpcException)
            {
                if (!agent.IsRunning)
                {
                    return;
                }
            }
        }
    }

    // From the moment of the kill or stop, tries writes through every other member until one is acknowledged.
    private async Task<(LocalAgent Leader, TimeSpan After)> FirstAcceptedWriteAsync(LocalAgent gone, Stopwatch since)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        var attempt = 0;
        while (DateTime.UtcNow < deadline)
        {
            foreach (var agent in _cluster.Agents.Where(a => a != gone && a.IsRunning))
            {
                try
                {
                    await agent.Kv.PutAsync(new PutRequest { Key = Key($"demo/probe/{attempt++}"), Value = Key("p") }, deadline: Deadline(0.25));
                    var after = since.Elapsed;
                    return (await _cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(10), not: gone), after);
                }
                catch (RpcException)
                {
                    // Not yet.
                }
            }
        }

        throw new DemoFailedException($"no member accepted a write within 20 s after node {gone.Id} went away");
    }

    private async Task<long> WaitForCounterAsync(LocalAgent via, long atLeast)
    {
        long value = 0;
        await WaitUntilAsync(async () =>
        {
            var got = await via.Kv.GetAsync(new GetRequest { Key = Key("demo/counter") }, deadline: Deadline(1));
            value = got.Kv is null ? 0 : long.Parse(got.Kv.Value.ToStringUtf8(), CultureInfo.InvariantCulture);
            return value >= atLeast;
        }, "the demo application's leader to count");
        return value;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (RpcException)
            {
                // Not yet.
            }

            await Task.Delay(50);
        }

        throw new DemoFailedException($"timed out waiting for {what}");
    }

    private void Say(string line)
    {
        var stamped = $"[{_clock.Elapsed.TotalSeconds,6:F2}s] {line}";
        if (_interactive)
        {
            _log.Add(stamped);
            _refresh?.Invoke();
        }
        else
        {
            Console.WriteLine(stamped);
        }
    }

    private static void Check(bool condition, string failure)
    {
        if (!condition)
        {
            throw new DemoFailedException(failure);
        }
    }

    private async Task ShowStatusAsync()
    {
        if (!_interactive)
        {
            AnsiConsole.Write(await NodeTableAsync());
        }
    }

    private async Task RefreshLoopAsync(CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            _table = await NodeTableAsync();
            _refresh?.Invoke();
            try
            {
                await Task.Delay(250, token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private Table? _table;

    private IRenderable Render() =>
        new Rows(_table ?? new Table().AddColumn("starting…"), new Markup(string.Join("\n", _log.Select(Markup.Escape))));

    private async Task<Table> NodeTableAsync()
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumns("node", "pid", "role", "term", "leader", "commit", "applied", "revision", "state");
        foreach (var agent in _cluster.Agents)
        {
            StatusResponse? status = null;
            if (agent.IsRunning)
            {
                try
                {
                    status = await agent.Admin.StatusAsync(new StatusRequest(), deadline: Deadline(0.3));
                }
                catch (RpcException)
                {
                    // Starting or stopping.
                }
            }

            var state = _states.GetValueOrDefault(agent.Id) ?? (agent.IsRunning ? status is null ? "starting" : "running" : "down");
            var role = status?.Role switch
            {
                Role.Leader => "[green]leader[/]",
                Role.Follower => "follower",
                Role.Candidate => "[yellow]candidate[/]",
                Role.Learner => "learner",
                _ => "-",
            };
            table.AddRow(new Markup(agent.Id.ToString(CultureInfo.InvariantCulture)), new Markup(agent.Pid?.ToString(CultureInfo.InvariantCulture) ?? "-"),
                new Markup(role), new Markup(status?.Term.ToString(CultureInfo.InvariantCulture) ?? "-"),
                new Markup(status?.LeaderId.ToString(CultureInfo.InvariantCulture) ?? "-"), new Markup(status?.CommitIndex.ToString(CultureInfo.InvariantCulture) ?? "-"),
                new Markup(status?.AppliedIndex.ToString(CultureInfo.InvariantCulture) ?? "-"), new Markup(status?.Revision.ToString(CultureInfo.InvariantCulture) ?? "-"),
                new Markup(Markup.Escape(state)));
        }

        return table;
    }

    private static ByteString Key(string text) => ByteString.CopyFromUtf8(text);

    private static DateTime Deadline(double seconds) => DateTime.UtcNow.AddSeconds(seconds);

    private static string Ms(TimeSpan t) => $"{t.TotalMilliseconds:F0} ms";

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.DisposeAsync();
        }

        await _cluster.DisposeAsync();
    }
}

/// <summary>A check of the demo did not hold.</summary>
public sealed class DemoFailedException(string message) : Exception(message);
