using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Kuorum.Agent.Node;
using Kuorum.Api.V1;
using Kuorum.Storage.StateMachine;

namespace Kuorum.Agent.Services;

/// <summary>
/// Locks bound to leases. A lock is a reserved key created, in one transaction, only if it does not exist, and bound
/// to the holder's lease; it goes when the holder releases it or the lease ends. The fencing token is the revision
/// that created the key: every later hold of any lock gets a larger one.
/// </summary>
public sealed class LockService(RaftHost host) : Api.V1.Lock.LockBase
{
    /// <summary>Longest lock name in bytes.</summary>
    public const int MaxNameBytes = 256;

    /// <inheritdoc />
    public override async Task<LockResponse> Acquire(LockRequest request, ServerCallContext context)
    {
        var nameBytes = Encoding.UTF8.GetByteCount(request.Name);
        if (nameBytes is 0 or > MaxNameBytes)
        {
            throw Requests.Invalid($"name is {nameBytes} bytes; lock names are 1..{MaxNameBytes} bytes");
        }

        if (request.Lease <= 0)
        {
            throw Requests.Invalid($"lease is {request.Lease}; a lock needs the id of a lease you hold (grant one with Lease.Grant)");
        }

        if (request.WaitMs < 0)
        {
            throw Requests.Invalid($"wait_ms is {request.WaitMs}; it must be 0 (until the call's deadline) or more");
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        if (request.WaitMs > 0)
        {
            deadline.CancelAfter(TimeSpan.FromMilliseconds(request.WaitMs));
        }

        var key = ReservedKeys.Lock(request.Name);
        var owner = Encoding.UTF8.GetBytes(request.Lease.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var take = KvCommand.Txn([KvCompare.Missing(key)], [KvOp.Put(key, owner, request.Lease)], [KvOp.Get(key)]);
        try
        {
            while (true)
            {
                var result = await host.ProposeAsync(take, deadline.Token);
                Requests.ThrowIfFailed(result, request.Lease);
                if (result.Succeeded)
                {
                    return Held(key, result.Revision);
                }

                var holder = result.Results[0].Record!;
                if (holder.Lease == request.Lease)
                {
                    // Already held under this lease: the same hold, the same token.
                    return Held(key, holder.CreateRevision);
                }

                await WaitForReleaseAsync(key, holder.ModRevision, deadline.Token);
            }
        }
        catch (OperationCanceledException) when (!context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, $"lock '{request.Name}' is held by another lease; gave up waiting"));
        }
    }

    /// <inheritdoc />
    public override async Task<UnlockResponse> Release(UnlockRequest request, ServerCallContext context)
    {
        if (!request.Key.Span.StartsWith(ReservedKeys.LockPrefix) || request.Key.Length == ReservedKeys.LockPrefix.Length)
        {
            throw Requests.Invalid("key is not a lock key; pass the key Acquire returned");
        }

        using var deadline = Requests.Deadline(context);
        var result = await host.ProposeAsync(KvCommand.Txn([], [KvOp.Delete(request.Key.Memory)], []), deadline.Token);
        return new UnlockResponse { Header = Requests.Header(host, result.Revision) };
    }

    private LockResponse Held(byte[] key, long revision) => new()
    {
        Header = Requests.Header(host, revision),
        Key = ByteString.CopyFrom(key),
        FencingToken = revision,
        Term = host.View.Term,
    };

    // Waits until the lock key is deleted after the holder's revision (released, or its lease ended).
    private async Task WaitForReleaseAsync(byte[] key, long after, CancellationToken token)
    {
        while (true)
        {
            var changed = host.RevisionChanged.Next;
            var batch = await host.ReadAsync(null, m => m.EventsSince(after, 1000), token);
            if (batch.Compacted || batch.Events.Any(e => e.Type == KvEventType.Delete && e.Kv.Key.Span.SequenceEqual(key)))
            {
                return;
            }

            after = batch.Events.Count > 0 ? batch.Events[^1].Revision : batch.Revision;
            if (batch.Events.Count == 0)
            {
                await changed.WaitAsync(token);
            }
        }
    }
}
