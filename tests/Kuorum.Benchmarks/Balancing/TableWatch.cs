using System.Diagnostics;
using Grpc.Core;
using Kuorum.Api.V1;

namespace Kuorum.Benchmarks.Balancing;

/// <summary>
/// <c>Endpoints.Watch</c> on one sidecar, every push kept with the <see cref="Stopwatch"/> timestamp of its arrival in
/// this process (the raw generated client, so that pushes with the same version but a new leader are seen too: the
/// SDK's <c>WatchEndpointsAsync</c> only yields new versions). The stream is reopened if it breaks.
/// </summary>
public sealed class TableWatch : IAsyncDisposable
{
    private readonly List<(long At, EndpointTable Table)> _history = [];
    private readonly System.Threading.Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Endpoints.EndpointsClient _client;
    private readonly Task _loop;
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Starts watching the sidecar of member <paramref name="member"/> through <paramref name="invoker"/>.</summary>
    public TableWatch(long member, CallInvoker invoker)
    {
        Member = member;
        _client = new Endpoints.EndpointsClient(invoker);
        _loop = Task.Run(() => LoopAsync(_stop.Token));
    }

    /// <summary>The member whose sidecar is watched.</summary>
    public long Member { get; }

    /// <summary>The last table pushed, or null before the first.</summary>
    public EndpointTable? Latest
    {
        get
        {
            lock (_lock)
            {
                return _history.Count > 0 ? _history[^1].Table : null;
            }
        }
    }

    /// <summary>Every push from <paramref name="from"/> to <paramref name="to"/>, with the one in force at <paramref name="from"/> first.</summary>
    public List<(long At, EndpointTable Table)> Between(long from, long to)
    {
        lock (_lock)
        {
            var first = _history.FindLastIndex(h => h.At <= from);
            return _history.Skip(Math.Max(0, first)).TakeWhile(h => h.At <= to).ToList();
        }
    }

    /// <summary>Waits until the table in force (the latest, or a later one) satisfies <paramref name="condition"/>; false on timeout.</summary>
    public async Task<bool> WaitForAsync(Func<EndpointTable, bool> condition, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        lock (_lock)
        {
            if (_history.Count > 0 && condition(_history[^1].Table))
            {
                return true;
            }
        }

        return await FirstAfterAsync(start, condition, timeout, cancellationToken).ConfigureAwait(false) is not null;
    }

    /// <summary>
    /// The arrival time of the first push at or after <paramref name="from"/> that satisfies <paramref name="condition"/>,
    /// waiting for it up to <paramref name="timeout"/> (null then).
    /// </summary>
    public async Task<long?> FirstAfterAsync(long from, Func<EndpointTable, bool> condition, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var index = 0;
        while (true)
        {
            Task next;
            lock (_lock)
            {
                for (; index < _history.Count; index++)
                {
                    var (at, table) = _history[index];
                    if (at >= from && condition(table))
                    {
                        return at;
                    }
                }

                next = _next.Task;
            }

            var remaining = deadline - Stopwatch.GetTimestamp();
            if (remaining <= 0)
            {
                return null;
            }

            await Task.WhenAny(next, Task.Delay(TimeSpan.FromSeconds(remaining / (double)Stopwatch.Frequency), cancellationToken)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private async Task LoopAsync(CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            try
            {
                using var call = _client.Watch(new EndpointsRequest(), cancellationToken: token);
                await foreach (var table in call.ResponseStream.ReadAllAsync(token).ConfigureAwait(false))
                {
                    var at = Stopwatch.GetTimestamp();
                    TaskCompletionSource pulse;
                    lock (_lock)
                    {
                        _history.Add((at, table));
                        pulse = _next;
                        _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    }

                    pulse.TrySetResult();
                }
            }
            catch (RpcException) when (!token.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(50, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            catch (RpcException)
            {
                return;
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
