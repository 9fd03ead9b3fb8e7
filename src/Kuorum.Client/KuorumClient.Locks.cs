using Kuorum.Api.V1;

namespace Kuorum.Client;

public sealed partial class KuorumClient
{
    /// <summary>
    /// Grants a lease and keeps it alive in the background until it is revoked or disposed. Bind keys to it
    /// (<c>PutAsync(key, value, lease.Id)</c>) so that they vanish when this process stops renewing it.
    /// </summary>
    /// <param name="ttl">Time to live; the agent accepts 1 s to 24 h. Renewals are sent every third of it.</param>
    /// <param name="cancellationToken">Cancels the grant.</param>
    /// <returns>The kept-alive lease.</returns>
    public async Task<KuorumLease> GrantLeaseAsync(TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var lease = await StartLeaseAsync(ttl, tracked: true, cancellationToken).ConfigureAwait(false);
        return lease;
    }

    /// <summary>
    /// Acquires the distributed lock <paramref name="name"/>: grants a lease of <paramref name="ttl"/>, keeps it
    /// alive, and waits (in arrival order) until the lock is granted. If the call fails or is cancelled, the lease
    /// is revoked.
    /// </summary>
    /// <param name="name">The lock's name (1 to 256 bytes of UTF-8).</param>
    /// <param name="ttl">
    /// Lease time to live: how long the lock outlives a crashed holder. The agent accepts 1 s to 24 h.
    /// </param>
    /// <param name="cancellationToken">Stops waiting for the lock.</param>
    /// <returns>The held lock; dispose it to release.</returns>
    /// <exception cref="LeaseLostException">The lease ended while waiting for the lock.</exception>
    public async Task<KuorumLock> AcquireLockAsync(string name, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        ArgumentException.ThrowIfNullOrEmpty(name);
        // Tracked while waiting, so that disposing the client revokes it; the lock owns it once granted.
        var lease = await StartLeaseAsync(ttl, tracked: true, cancellationToken).ConfigureAwait(false);
        try
        {
            using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lease.Lost);
            LockResponse response;
            try
            {
                response = await CallOnceAsync(
                        "Lock.Acquire",
                        ct => _locks.AcquireAsync(new LockRequest { Name = name, Lease = lease.Id }, cancellationToken: ct),
                        waiting.Token)
                    .ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (lease.IsLost && !cancellationToken.IsCancellationRequested)
            {
                throw new LeaseLostException(lease.Id, $"the lease {lease.Id} ended while waiting for lock '{name}'.");
            }

            var held = new KuorumLock(this, _locks, name, lease, response);
            Track(held);
            Untrack(lease);
            return held;
        }
        catch
        {
            await lease.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task<KuorumLease> StartLeaseAsync(TimeSpan ttl, bool tracked, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        var sentAt = _time.GetTimestamp();
        var response = await CallOnceAsync(
                "Lease.Grant",
                ct => _leases.GrantAsync(new LeaseGrantRequest { TtlMs = (long)Math.Ceiling(ttl.TotalMilliseconds) }, cancellationToken: ct),
                cancellationToken)
            .ConfigureAwait(false);
        var lease = new KuorumLease(this, _leases, response.Id, TimeSpan.FromMilliseconds(response.TtlMs), sentAt, tracked);
        if (tracked)
        {
            Track(lease);
        }

        return lease;
    }
}
