using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Grpc.Core;
using Kuorum.Api.V1;
using Kuorum.Client.Internal;

namespace Kuorum.Client;

/// <summary>
/// Follows the cluster's leadership through the sidecar's WatchLeadership stream, reopening the stream whenever
/// it breaks. Get one from <see cref="KuorumClient.WatchLeadership"/>; it starts at once.
/// </summary>
/// <remarks>
/// While the watcher cannot reach its sidecar it reports no leader (keeping the last term): the application
/// cannot prove it still leads, so it must stop acting as leader. <see cref="Changed"/> handlers and async
/// streams see changes in order, on a background thread.
/// </remarks>
public sealed class LeadershipWatcher : IAsyncDisposable
{
    private readonly KuorumClient _owner;
    private readonly Api.V1.Leadership.LeadershipClient _service;
    private readonly System.Threading.Lock _gate = new();
    private readonly List<Channel<LeadershipState>> _subscribers = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private LeadershipState _current = LeadershipState.Unknown;
    private LeadershipTerm? _term;
    private bool _hasState;
    private bool _connected;
    private bool _disposed;

    internal LeadershipWatcher(KuorumClient owner, Api.V1.Leadership.LeadershipClient service)
    {
        _owner = owner;
        _service = service;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Raised after each change, in order; an exception thrown by a handler is logged and ignored.</summary>
    public event EventHandler<LeadershipChangedEventArgs>? Changed;

    /// <summary>The leadership as last reported (<see cref="LeadershipState.Unknown"/> before the first report).</summary>
    public LeadershipState Current
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    /// <summary>True while this application's sidecar is the leader.</summary>
    public bool IsLeader => Current.IsLocal;

    /// <summary>The current (or last known) term: the fencing token of the current leadership.</summary>
    public long Term => Current.Term;

    /// <summary>True while the watch stream to the sidecar is open and has answered.</summary>
    public bool IsConnected
    {
        get
        {
            lock (_gate)
            {
                return _connected;
            }
        }
    }

    /// <summary>The current local leadership with its <see cref="LeadershipTerm.Lost"/> token; null when not leader.</summary>
    public LeadershipTerm? CurrentTerm
    {
        get
        {
            lock (_gate)
            {
                return _term;
            }
        }
    }

    /// <summary>
    /// The leadership now (once known), then every change, until <paramref name="cancellationToken"/> fires or the
    /// watcher is disposed. Each enumeration has its own buffer, so a slow reader loses nothing.
    /// </summary>
    /// <param name="cancellationToken">Ends the enumeration.</param>
    /// <returns>The successive leadership states.</returns>
    public async IAsyncEnumerable<LeadershipState> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var channel = Channel.CreateUnbounded<LeadershipState>(new UnboundedChannelOptions { SingleReader = true });
        lock (_gate)
        {
            if (_disposed)
            {
                yield break;
            }

            if (_hasState)
            {
                channel.Writer.TryWrite(_current);
            }

            _subscribers.Add(channel);
        }

        try
        {
            await foreach (var state in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return state;
            }
        }
        finally
        {
            lock (_gate)
            {
                _subscribers.Remove(channel);
            }
        }
    }

    /// <summary>Waits until some leader is known.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The leadership at that moment.</returns>
    /// <exception cref="ObjectDisposedException">The watcher was disposed while waiting.</exception>
    public async Task<LeadershipState> WaitForLeaderAsync(CancellationToken cancellationToken = default)
    {
        await foreach (var state in WatchAsync(cancellationToken).ConfigureAwait(false))
        {
            if (state.HasLeader)
            {
                return state;
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        throw new ObjectDisposedException(nameof(LeadershipWatcher));
    }

    /// <summary>
    /// Waits until this application's sidecar leads, and returns that leadership: its term (the fencing token) and
    /// a <see cref="LeadershipTerm.Lost"/> token that fires when it ends. Call again after it is lost to wait for
    /// the next one.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The local leadership.</returns>
    /// <exception cref="ObjectDisposedException">The watcher was disposed while waiting.</exception>
    public async Task<LeadershipTerm> WaitForLeadershipAsync(CancellationToken cancellationToken = default)
    {
        await foreach (var state in WatchAsync(cancellationToken).ConfigureAwait(false))
        {
            lock (_gate)
            {
                if (_term is { IsLost: false } term)
                {
                    return term;
                }
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        throw new ObjectDisposedException(nameof(LeadershipWatcher));
    }

    /// <summary>
    /// Closes the stream, ends the current <see cref="LeadershipTerm"/> and completes every enumeration. It waits for
    /// the event loop, so do not await it from a <see cref="Changed"/> handler.
    /// </summary>
    /// <returns>A task that completes when the watcher has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        LeadershipTerm? term;
        List<Channel<LeadershipState>> subscribers;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            term = _term;
            _term = null;
            subscribers = [.. _subscribers];
        }

        _stop.Cancel();
        await _loop.ConfigureAwait(false);
        EndTerm(term);
        foreach (var subscriber in subscribers)
        {
            subscriber.Writer.TryComplete();
        }

        _owner.Untrack(this);
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        var backoff = _owner.NewBackoff();
        var stop = _stop.Token;
        while (!stop.IsCancellationRequested)
        {
            string reason;
            Exception? failure = null;
            try
            {
                using var call = _service.WatchLeadership(new WatchLeadershipRequest(), cancellationToken: stop);
                while (await call.ResponseStream.MoveNext(stop).ConfigureAwait(false))
                {
                    backoff.Reset();
                    Publish(LeadershipState.From(call.ResponseStream.Current), connected: true);
                }

                reason = "the sidecar ended the stream";
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException e)
            {
                reason = $"{e.StatusCode}: {e.Status.Detail}";
                failure = RpcErrors.IsTransient(e) ? null : e;
            }
            catch (Exception e) when (e is IOException or HttpRequestException or ObjectDisposedException or OperationCanceledException)
            {
                reason = e.Message;
                failure = e;
            }

            lock (_gate)
            {
                _connected = false;
            }

            // Without the stream nothing proves this instance still leads.
            Publish(Current.WithoutLeader(), connected: false);
            var delay = backoff.Next();
            ClientLog.StreamBroken(_owner.Logger, "leadership watch", reason, delay, failure);
            try
            {
                await Task.Delay(delay, _owner.Time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void Publish(LeadershipState state, bool connected)
    {
        LeadershipState previous;
        LeadershipTerm? ended = null;
        Channel<LeadershipState>[] subscribers;
        lock (_gate)
        {
            // A failure before the first report tells nobody anything new.
            if (_disposed || (!connected && !_hasState))
            {
                return;
            }

            _connected |= connected;
            if (_hasState && state == _current)
            {
                return;
            }

            previous = _current;
            _current = state;
            _hasState = true;
            if (_term is not null && !(state.IsLocal && state.Term == _term.Term))
            {
                ended = _term;
                _term = null;
            }

            if (state.IsLocal && _term is null)
            {
                _term = new LeadershipTerm(state.Term, state.LeaderId);
            }

            subscribers = [.. _subscribers];
        }

        // The old term's token fires before anyone hears of the new state.
        EndTerm(ended);
        foreach (var subscriber in subscribers)
        {
            subscriber.Writer.TryWrite(state);
        }

        try
        {
            Changed?.Invoke(this, new LeadershipChangedEventArgs(previous, state));
        }
        catch (Exception e)
        {
            ClientLog.CallbackFailed(_owner.Logger, "a LeadershipWatcher.Changed handler", e);
        }
    }

    private void EndTerm(LeadershipTerm? term)
    {
        try
        {
            term?.End();
        }
        catch (AggregateException e)
        {
            ClientLog.CallbackFailed(_owner.Logger, "a registration on LeadershipTerm.Lost", e);
        }
    }
}
