using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;

namespace Kuorum.Benchmarks.Cluster;

/// <summary>Which member a client sends to.</summary>
public enum Routing
{
    /// <summary>
    /// Clients are dealt over the members as each application talks to its own sidecar, followers first: client i
    /// talks to member order[i mod 3] with order = (follower, follower, leader), so a single client goes through a
    /// follower (which hands the call to the leader) in both stores, and 16 clients put 6, 5 and 5 on them.
    /// </summary>
    Spread,

    /// <summary>Every client talks to the leader.</summary>
    Leader,
}

/// <summary>What one load point measured.</summary>
public sealed record LoadResult(long Operations, double Seconds, List<double> Latencies, long Errors, string? FirstError)
{
    public double OpsPerSecond => Operations / Seconds;
}

/// <summary>What the failover trials measured: milliseconds from SIGKILL of the leader to the first acknowledged write.</summary>
public sealed record FailoverResult(List<double> Milliseconds, long Failed, string? FirstError);

/// <summary>
/// The load generator, the same code for every <see cref="IClusterUnderTest"/>: closed-loop clients (each sends its
/// next call when the last one answered) for a fixed time, and failover trials.
/// </summary>
public sealed class LoadGenerator(IClusterUnderTest cluster, TextWriter log)
{
    /// <summary>Bytes in every value written.</summary>
    public const int ValueBytes = 256;

    /// <summary>Keys per client: writes cycle over them, so the key space (and each store's size) stays bounded.</summary>
    public const int KeysPerClient = 64;

    private static readonly TimeSpan _callDeadline = TimeSpan.FromSeconds(5);
    private static readonly ByteString _value = MakeValue();

    /// <summary>
    /// Runs <paramref name="clients"/> closed-loop clients for <paramref name="warmup"/> plus
    /// <paramref name="duration"/>; counts the calls that completed within the measured window, with their latencies.
    /// </summary>
    public async Task<LoadResult> RunAsync(bool writes, int clients, Routing routing, TimeSpan warmup, TimeSpan duration, CancellationToken cancellationToken)
    {
        var leader = await cluster.LeaderAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        var order = Enumerable.Range(0, cluster.Members).Where(m => m != leader).Append(leader).ToArray();
        var begin = Stopwatch.GetTimestamp();
        var measureFrom = begin + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        var measureUntil = measureFrom + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var workers = new Task<(List<double> Latencies, long Errors, string? FirstError)>[clients];
        for (var c = 0; c < clients; c++)
        {
            var client = cluster.Client(routing == Routing.Leader ? leader : order[c % order.Length]);
            var keys = Keys(c);
            workers[c] = Task.Run(() => WorkerAsync(client, keys, writes, measureFrom, measureUntil, cancellationToken), cancellationToken);
        }

        var results = await Task.WhenAll(workers).ConfigureAwait(false);
        var latencies = new List<double>(results.Sum(r => r.Latencies.Count));
        foreach (var result in results)
        {
            latencies.AddRange(result.Latencies);
        }

        latencies.Sort();
        return new LoadResult(latencies.Count, duration.TotalSeconds, latencies, results.Sum(r => r.Errors), results.Select(r => r.FirstError).FirstOrDefault(e => e is not null));
    }

    private static async Task<(List<double>, long, string?)> WorkerAsync(IKvClient client, ByteString[] keys, bool writes, long measureFrom, long measureUntil, CancellationToken cancellationToken)
    {
        var latencies = new List<double>(4096);
        var errors = 0L;
        string? firstError = null;
        var next = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var start = Stopwatch.GetTimestamp();
            if (start >= measureUntil)
            {
                break;
            }

            var key = keys[next++ % keys.Length];
            try
            {
                if (writes)
                {
                    await client.PutAsync(key, _value, DateTime.UtcNow + _callDeadline, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await client.GetAsync(key, DateTime.UtcNow + _callDeadline, cancellationToken).ConfigureAwait(false);
                }

                var end = Stopwatch.GetTimestamp();
                if (start >= measureFrom && end <= measureUntil)
                {
                    latencies.Add((end - start) * 1000.0 / Stopwatch.Frequency);
                }
            }
            catch (RpcException e)
            {
                if (start >= measureFrom)
                {
                    errors++;
                    firstError ??= $"{e.StatusCode}: {e.Status.Detail}";
                }

                await Task.Delay(10, cancellationToken).ConfigureAwait(false);
            }
        }

        return (latencies, errors, firstError);
    }

    /// <summary>
    /// <paramref name="trials"/> times: find the leader, make sure both survivors answer, SIGKILL the leader, then
    /// send a write every <paramref name="attemptEvery"/> through the survivors in turn (each with a deadline of
    /// <paramref name="attemptDeadline"/>) until one is acknowledged; the time from the kill to that acknowledgement
    /// is the sample. Then restart the killed member and wait until every member serves a linearizable read.
    /// </summary>
    public async Task<FailoverResult> FailoverAsync(int trials, TimeSpan attemptEvery, TimeSpan attemptDeadline, CancellationToken cancellationToken)
    {
        var samples = new List<double>();
        var failed = 0L;
        string? firstError = null;
        var probe = ByteString.CopyFromUtf8("bench/failover");
        for (var trial = 0; trial < trials; trial++)
        {
            var leader = await cluster.LeaderAsync(TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
            var survivors = Enumerable.Range(0, cluster.Members).Where(m => m != leader).ToArray();
            foreach (var survivor in survivors)
            {
                // Connections are open and warm before the kill: the sample is the failover, not a TCP handshake.
                await cluster.Client(survivor).PutAsync(probe, _value, DateTime.UtcNow + _callDeadline, cancellationToken).ConfigureAwait(false);
            }

            var killedAt = Stopwatch.GetTimestamp();
            await cluster.KillAsync(leader).ConfigureAwait(false);
            var acknowledged = new TaskCompletionSource<double>(TaskCreationOptions.RunContinuationsAsynchronously);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            stop.CancelAfter(TimeSpan.FromSeconds(30));
            var attempts = new List<Task>();
            var sent = 0;
            string? lastError = null;
            while (!acknowledged.Task.IsCompleted && !stop.IsCancellationRequested)
            {
                var client = cluster.Client(survivors[sent++ % survivors.Length]);
                attempts.Add(Attempt(client));
                await Task.WhenAny(acknowledged.Task, Task.Delay(attemptEvery, CancellationToken.None)).ConfigureAwait(false);
            }

            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(attempts).ConfigureAwait(false);
            if (acknowledged.Task.IsCompletedSuccessfully)
            {
                samples.Add(acknowledged.Task.Result);
                await log.WriteLineAsync($"  {cluster.System} failover trial {trial + 1}/{trials}: killed member {leader + 1}, first acknowledged write after {acknowledged.Task.Result:F0} ms ({sent} attempts)").ConfigureAwait(false);
            }
            else
            {
                failed++;
                firstError ??= lastError ?? "no write acknowledged within 30 s";
                await log.WriteLineAsync($"  {cluster.System} failover trial {trial + 1}/{trials}: no write acknowledged within 30 s after killing member {leader + 1} ({lastError})").ConfigureAwait(false);
            }

            await cluster.RestartAsync(leader, cancellationToken).ConfigureAwait(false);
            await WaitHealthyAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);

            async Task Attempt(IKvClient client)
            {
                try
                {
                    await client.PutAsync(probe, _value, DateTime.UtcNow + attemptDeadline, stop.Token).ConfigureAwait(false);
                    acknowledged.TrySetResult((Stopwatch.GetTimestamp() - killedAt) * 1000.0 / Stopwatch.Frequency);
                }
                catch (RpcException e)
                {
                    lastError = $"{e.StatusCode}: {e.Status.Detail}";
                }
                catch (OperationCanceledException)
                {
                }
            }
        }

        return new FailoverResult(samples, failed, firstError);
    }

    /// <summary>Waits until the members agree on a leader and each one serves a linearizable read (so a restarted one has caught up).</summary>
    public async Task WaitHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        var probe = ByteString.CopyFromUtf8("bench/failover");
        string? lastError = null;
        while (DateTime.UtcNow < deadline)
        {
            await cluster.LeaderAsync(deadline - DateTime.UtcNow, cancellationToken).ConfigureAwait(false);
            try
            {
                for (var member = 0; member < cluster.Members; member++)
                {
                    await cluster.Client(member).GetAsync(probe, DateTime.UtcNow.AddSeconds(1), cancellationToken).ConfigureAwait(false);
                }

                return;
            }
            catch (RpcException e)
            {
                lastError = $"{e.StatusCode}: {e.Status.Detail}";
                await Task.Delay(50, cancellationToken).ConfigureAwait(false);
            }
        }

        throw new TimeoutException($"{cluster.System}: not every member served a linearizable read within {timeout.TotalSeconds:F0} s ({lastError}):\n{cluster.Dump()}");
    }

    private static ByteString[] Keys(int client) =>
        Enumerable.Range(0, KeysPerClient).Select(k => ByteString.CopyFromUtf8($"bench/c{client:D3}/k{k:D2}")).ToArray();

    private static ByteString MakeValue()
    {
        var value = new byte[ValueBytes];
        new Random(256).NextBytes(value);
        return ByteString.CopyFrom(value);
    }
}
