using Grpc.Core;
using Kuorum.Api.V1;
using Kuorum.Client.Internal;

namespace Kuorum.Client;

/// <summary>
/// A lease the client keeps alive: a KeepAlive stream renews it every third of its TTL and is reopened when it
/// breaks. Keys and locks bound to it vanish when it ends. Get one from <see cref="KuorumClient.GrantLeaseAsync"/>.
/// </summary>
/// <remarks>
/// <see cref="Lost"/> fires when the lease can no longer be trusted: the sidecar answers that it expired or was
/// revoked, or no renewal was confirmed within its TTL (counted from the moment the last confirmed renewal was
/// sent, so the client gives up no later than the leader does). It does not fire when the application itself
/// revokes or disposes the lease.
/// </remarks>
public sealed class KuorumLease : IAsyncDisposable
{
    private readonly KuorumClient _owner;
    private readonly Lease.LeaseClient _service;
    private readonly CancellationTokenSource _lost = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly long _origin;
    private readonly bool _tracked;
    private readonly Task _keepAlive;
    private TimeSpan _deadline;
    private int _stopped;
    private bool _revoked;

    internal KuorumLease(KuorumClient owner, Lease.LeaseClient service, long id, TimeSpan ttl, long grantSentAt, bool tracked)
    {
        _owner = owner;
        _service = service;
        Id = id;
        Ttl = ttl;
        _tracked = tracked;
        _origin = grantSentAt;
        _deadline = ttl;
        _keepAlive = Task.Run(KeepAliveAsync);
    }

    /// <summary>The lease id: bind keys to it with <see cref="KuorumClient.PutAsync(KuorumKey, string, long, CancellationToken)"/>.</summary>
    public long Id { get; }

    /// <summary>The time to live the sidecar granted.</summary>
    public TimeSpan Ttl { get; }

    /// <summary>Fires when the lease expired, was revoked by someone else, or could not be renewed within its TTL.</summary>
    public CancellationToken Lost => _lost.Token;

    /// <summary>True once <see cref="Lost"/> has fired.</summary>
    public bool IsLost => _lost.IsCancellationRequested;

    private TimeSpan Now => _owner.Time.GetElapsedTime(_origin);

    /// <summary>Stops renewing the lease and revokes it: its keys and locks are deleted at once.</summary>
    /// <param name="cancellationToken">Cancels the revocation (the lease then ends with its TTL).</param>
    /// <returns>A task that completes when the sidecar has revoked the lease.</returns>
    public async Task RevokeAsync(CancellationToken cancellationToken = default)
    {
        await StopKeepAliveAsync().ConfigureAwait(false);
        if (_revoked)
        {
            return;
        }

        try
        {
            await _owner.IdempotentCallAsync(
                    "Lease.Revoke",
                    ct => _service.RevokeAsync(new LeaseRevokeRequest { Id = Id }, cancellationToken: ct),
                    cancellationToken)
                .ConfigureAwait(false);
        }
        catch (KuorumException e) when (e.StatusCode == StatusCode.NotFound)
        {
            // Already gone: what revoking wanted.
        }

        _revoked = true;
    }

    /// <summary>Revokes the lease, best effort: a failure is logged and the lease then ends with its TTL.</summary>
    /// <returns>A task that completes when the lease is revoked or the attempt failed.</returns>
    public async ValueTask DisposeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(_owner.Options.AttemptTimeout, _owner.Time);
            await RevokeAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is KuorumException or OperationCanceledException or ObjectDisposedException)
        {
            ClientLog.ReleaseFailed(_owner.Logger, $"lease {Id}", e);
        }
    }

    internal async Task StopKeepAliveAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            _stop.Cancel();
            if (_tracked)
            {
                _owner.Untrack(this);
            }
        }

        await _keepAlive.ConfigureAwait(false);
    }

    private async Task KeepAliveAsync()
    {
        var stop = _stop.Token;
        var interval = Ttl / 3;
        var backoff = _owner.NewBackoff();
        AsyncDuplexStreamingCall<LeaseKeepAliveRequest, LeaseKeepAliveResponse>? call = null;
        try
        {
            // The grant itself started the countdown: the first renewal is due one interval later.
            var pause = interval;
            while (true)
            {
                await Task.Delay(pause, _owner.Time, stop).ConfigureAwait(false);
                var remaining = _deadline - Now;
                if (remaining <= TimeSpan.Zero)
                {
                    MarkLost($"no renewal was confirmed within its TTL of {Ttl}");
                    return;
                }

                try
                {
                    call ??= _service.KeepAlive(cancellationToken: stop);
                    var sentAt = Now;
                    using var wait = new CancellationTokenSource(remaining, _owner.Time);
                    using var bounded = CancellationTokenSource.CreateLinkedTokenSource(stop, wait.Token);
                    await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { Id = Id }, bounded.Token).ConfigureAwait(false);
                    if (!await call.ResponseStream.MoveNext(bounded.Token).ConfigureAwait(false))
                    {
                        throw new IOException("the sidecar closed the keep-alive stream");
                    }

                    var response = call.ResponseStream.Current;
                    if (response.TtlMs <= 0)
                    {
                        MarkLost("the sidecar answers that it expired or was revoked");
                        return;
                    }

                    _deadline = sentAt + TimeSpan.FromMilliseconds(response.TtlMs);
                    backoff.Reset();
                    var left = _deadline - Now;
                    pause = left / 2 < interval ? left / 2 : interval;
                }
                catch (Exception) when (stop.IsCancellationRequested)
                {
                    return;
                }
                catch (RpcException e) when (!RpcErrors.IsTransient(e))
                {
                    MarkLost($"the sidecar refused to renew it ({e.StatusCode}: {e.Status.Detail})");
                    return;
                }
                catch (Exception e)
                {
                    // The stream broke, the sidecar restarted or the answer was late: reopen while time remains.
                    call?.Dispose();
                    call = null;
                    ClientLog.KeepAliveInterrupted(_owner.Logger, Id, e.Message);
                    var left = _deadline - Now;
                    var delay = backoff.Next();
                    pause = left <= TimeSpan.Zero ? TimeSpan.Zero : delay < left ? delay : left;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopped by RevokeAsync or DisposeAsync.
        }
        finally
        {
            call?.Dispose();
        }
    }

    private void MarkLost(string reason)
    {
        if (Volatile.Read(ref _stopped) != 0)
        {
            return;
        }

        ClientLog.LeaseLost(_owner.Logger, Id, reason);
        try
        {
            _lost.Cancel();
        }
        catch (AggregateException e)
        {
            // A callback registered on Lost threw; the keep-alive loop must still end cleanly.
            ClientLog.CallbackFailed(_owner.Logger, "a registration on KuorumLease.Lost", e);
        }
    }
}
