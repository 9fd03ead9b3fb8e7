using Grpc.Core;
using Kuorum.Api.V1;
using Kuorum.Client.Internal;

namespace Kuorum.Client;

/// <summary>
/// A held distributed lock, bound to a lease the client keeps alive. Guard every side effect with
/// <see cref="FencingToken"/>, stop work when <see cref="Lost"/> fires, and dispose the lock to release it.
/// Get one from <see cref="KuorumClient.AcquireLockAsync"/>.
/// </summary>
public sealed class KuorumLock : IAsyncDisposable
{
    private readonly KuorumClient _owner;
    private readonly Api.V1.Lock.LockClient _service;
    private readonly KuorumLease _lease;
    private readonly Google.Protobuf.ByteString _key;
    private bool _released;

    internal KuorumLock(KuorumClient owner, Api.V1.Lock.LockClient service, string name, KuorumLease lease, LockResponse response)
    {
        _owner = owner;
        _service = service;
        _lease = lease;
        _key = response.Key;
        Name = name;
        FencingToken = response.FencingToken;
        Term = response.Term;
    }

    /// <summary>The lock's name.</summary>
    public string Name { get; }

    /// <summary>The key that represents this hold in the store.</summary>
    public ReadOnlyMemory<byte> Key => _key.Memory;

    /// <summary>
    /// Strictly larger for every later holder of any lock (the revision at which this hold began). Pass it with
    /// every write the lock protects, and have storage reject tokens smaller than the largest it has seen.
    /// </summary>
    public long FencingToken { get; }

    /// <summary>The Raft term when the lock was taken.</summary>
    public long Term { get; }

    /// <summary>The lease that holds the lock.</summary>
    public long LeaseId => _lease.Id;

    /// <summary>
    /// Fires when the lock may no longer be held: its lease expired, was revoked elsewhere, or could not be renewed
    /// within its TTL. Not fired by <see cref="ReleaseAsync"/> or <see cref="DisposeAsync"/>.
    /// </summary>
    public CancellationToken Lost => _lease.Lost;

    /// <summary>True once <see cref="Lost"/> has fired.</summary>
    public bool IsLost => _lease.IsLost;

    /// <summary>Releases the lock (the next waiter gets it at once) and revokes its lease.</summary>
    /// <param name="cancellationToken">Cancels the release; the lease then ends with its TTL.</param>
    /// <returns>A task that completes when the lock is released and its lease revoked.</returns>
    public async Task ReleaseAsync(CancellationToken cancellationToken = default)
    {
        await _lease.StopKeepAliveAsync().ConfigureAwait(false);
        if (!_released)
        {
            try
            {
                await _owner.IdempotentCallAsync(
                        "Lock.Release",
                        ct => _service.ReleaseAsync(new UnlockRequest { Key = _key }, cancellationToken: ct),
                        cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (KuorumException e) when (e.StatusCode == StatusCode.NotFound)
            {
                // The lease already ended and took the lock with it.
            }

            _released = true;
        }

        await _lease.RevokeAsync(cancellationToken).ConfigureAwait(false);
        _owner.Untrack(this);
    }

    /// <summary>
    /// Releases the lock and revokes its lease, best effort: a failure is logged and the lock then ends with its
    /// lease's TTL.
    /// </summary>
    /// <returns>A task that completes when the lock is released or the attempt failed.</returns>
    public async ValueTask DisposeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(_owner.Options.AttemptTimeout, _owner.Time);
            await ReleaseAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is KuorumException or OperationCanceledException or ObjectDisposedException)
        {
            ClientLog.ReleaseFailed(_owner.Logger, $"lock '{Name}'", e);
            _owner.Untrack(this);
        }
    }
}
