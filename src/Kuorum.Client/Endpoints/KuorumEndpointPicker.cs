using Kuorum.Client.Internal;

namespace Kuorum.Client;

/// <summary>
/// An <see cref="IEndpointPicker"/> that follows the sidecar's endpoint table by itself: it watches
/// <c>Endpoints.Watch</c> (reopening the stream whenever it breaks), swaps in each new version, and applies the
/// table's own strategy unless it was created with a fixed one. Get one from
/// <see cref="KuorumClient.CreateEndpointPicker"/>.
/// </summary>
/// <remarks>
/// A table whose strategy is empty or unknown to this client is served with <see cref="EndpointStrategies.Fallback"/>
/// (a warning is logged). When the strategy changes, in-flight counts carry over to the new strategy's picker.
/// Until the first table arrives every pick returns null: await <see cref="WaitForTableAsync"/> at start-up.
/// </remarks>
public sealed class KuorumEndpointPicker : IEndpointPicker, IAsyncDisposable
{
    private readonly KuorumClient _owner;
    private readonly string? _fixedStrategy;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource<EndpointSnapshot> _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _loop;
    private volatile EndpointPicker? _current;
    private int _disposed;

    internal KuorumEndpointPicker(KuorumClient owner, string? fixedStrategy)
    {
        _owner = owner;
        _fixedStrategy = fixedStrategy;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>
    /// The strategy in use: the fixed one if given, else the current table's (or <see cref="EndpointStrategies.Fallback"/>
    /// for a table naming none this client knows); empty before the first table when none was fixed.
    /// </summary>
    public string Strategy => _current?.Strategy ?? _fixedStrategy ?? string.Empty;

    /// <inheritdoc />
    public EndpointSnapshot? Snapshot => _current?.Snapshot;

    /// <inheritdoc />
    public EndpointInfo? Pick() => _current?.Pick();

    /// <inheritdoc />
    public EndpointLease? StartRequest() => _current?.StartRequest();

    /// <summary>Waits until the first table has been applied.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>That table.</returns>
    /// <exception cref="ObjectDisposedException">The picker was disposed while waiting.</exception>
    public Task<EndpointSnapshot> WaitForTableAsync(CancellationToken cancellationToken = default) => _first.Task.WaitAsync(cancellationToken);

    /// <summary>Stops following the table. Picks keep answering from the last table.</summary>
    /// <returns>A task that completes when the watch has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stop.Cancel();
        await _loop.ConfigureAwait(false);
        _first.TrySetException(new ObjectDisposedException(nameof(KuorumEndpointPicker)));
        _owner.Untrack(this);
        _stop.Dispose();
    }

    internal int InFlight(string appAddress) => _current?.InFlight(appAddress) ?? 0;

    internal void Apply(EndpointSnapshot snapshot)
    {
        var strategy = _fixedStrategy;
        if (strategy is null && !EndpointStrategies.TryNormalize(snapshot.Strategy, out strategy))
        {
            ClientLog.UnknownStrategy(_owner.Logger, snapshot.Strategy, snapshot.Version, strategy);
        }

        var current = _current;
        if (current is null || current.Strategy != strategy)
        {
            var next = EndpointPicker.Create(strategy);
            next.UpdateFrom(snapshot, current);
            _current = next;
        }
        else
        {
            current.Update(snapshot);
        }

        _first.TrySetResult(snapshot);
    }

    private async Task RunAsync()
    {
        var stop = _stop.Token;
        var backoff = _owner.NewBackoff();
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await foreach (var snapshot in _owner.WatchEndpointsAsync(stop).ConfigureAwait(false))
                {
                    backoff.Reset();
                    Apply(snapshot);
                }
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                // The client was disposed under us.
                return;
            }
            catch (KuorumException e)
            {
                // Not worth a reconnection by the watch itself (for instance UNIMPLEMENTED): try again later.
                var delay = backoff.Next();
                ClientLog.StreamBroken(_owner.Logger, "endpoint picker watch", e.Message, delay, e);
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
    }
}
