using Google.Protobuf;
using Grpc.Core;
using Kuorum.Agent.Node;
using Kuorum.Api.V1;
using Kuorum.Raft;
using Kuorum.Storage.StateMachine;

namespace Kuorum.Agent.Services;

/// <summary>Checks and conversions shared by the public services.</summary>
internal static class Requests
{
    /// <summary>How long a call may wait for a leader or a commit when the caller set no deadline.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>A token that fires at the call's deadline or after <see cref="DefaultTimeout"/>, whichever is first.</summary>
    public static CancellationTokenSource Deadline(ServerCallContext context)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        source.CancelAfter(DefaultTimeout);
        return source;
    }

    /// <summary>Checks a user key: not empty, within the limit, not reserved.</summary>
    public static ReadOnlyMemory<byte> Key(ByteString key, KvLimits limits, string field = "key")
    {
        if (key.IsEmpty)
        {
            throw Invalid($"{field} is empty; keys are 1..{limits.MaxKeyBytes} bytes");
        }

        if (key.Length > limits.MaxKeyBytes)
        {
            throw Invalid($"{field} is {key.Length} bytes; the limit is {limits.MaxKeyBytes} (--max-key-bytes)");
        }

        if (ReservedKeys.IsReserved(key.Span))
        {
            throw Invalid($"{field} starts with byte 0x00; keys starting with 0x00 are reserved for the agent");
        }

        return key.Memory;
    }

    /// <summary>Checks a prefix: within the key limit, not reserved (empty means every key).</summary>
    public static ReadOnlyMemory<byte> Prefix(ByteString prefix, KvLimits limits)
    {
        if (prefix.Length > limits.MaxKeyBytes)
        {
            throw Invalid($"prefix is {prefix.Length} bytes; the limit is {limits.MaxKeyBytes} (--max-key-bytes)");
        }

        if (ReservedKeys.IsReserved(prefix.Span))
        {
            throw Invalid("prefix starts with byte 0x00; keys starting with 0x00 are reserved for the agent");
        }

        return prefix.Memory;
    }

    /// <summary>Checks a value's size.</summary>
    public static ReadOnlyMemory<byte> Value(ByteString value, KvLimits limits)
    {
        if (value.Length > limits.MaxValueBytes)
        {
            throw Invalid($"value is {value.Length} bytes; the limit is {limits.MaxValueBytes} (--max-value-bytes)");
        }

        return value.Memory;
    }

    /// <summary>Checks a lease id (0 for none).</summary>
    public static long Lease(long lease, string field = "lease")
    {
        if (lease < 0)
        {
            throw Invalid($"{field} is {lease}; lease ids are positive (0 for no lease)");
        }

        return lease;
    }

    /// <summary>An INVALID_ARGUMENT error.</summary>
    public static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));

    /// <summary>The Raft read level for a consistency (null: stale).</summary>
    public static ReadConsistency? Level(Consistency consistency) => consistency switch
    {
        Consistency.Linearizable => ReadConsistency.Linearizable,
        Consistency.Lease => ReadConsistency.Lease,
        Consistency.Stale => null,
        _ => throw Invalid($"consistency {(int)consistency} is unknown; use LINEARIZABLE (0), LEASE (1) or STALE (2)"),
    };

    /// <summary>Turns an apply error into the caller's error.</summary>
    public static void ThrowIfFailed(ApplyResult result, long lease)
    {
        switch (result.Error)
        {
            case KvApplyError.LeaseNotFound:
                throw new RpcException(new Status(StatusCode.NotFound, $"lease {lease} does not exist (it expired, was revoked or was never granted)"));
            case KvApplyError.LeaseExists:
                throw new RpcException(new Status(StatusCode.AlreadyExists, $"lease {lease} already exists"));
        }
    }

    /// <summary>A response header at <paramref name="revision"/>.</summary>
    public static ResponseHeader Header(RaftHost host, long revision) =>
        new() { Revision = revision, Term = host.View.Term, MemberId = host.Options.NodeId };

    /// <summary>A stored record as the API's.</summary>
    public static Record ToRecord(KvRecord record, bool keysOnly = false) => new()
    {
        Key = UnsafeByteOperations.UnsafeWrap(record.Key),
        Value = keysOnly ? ByteString.Empty : UnsafeByteOperations.UnsafeWrap(record.Value),
        CreateRevision = record.CreateRevision,
        ModRevision = record.ModRevision,
        Version = record.Version,
        Lease = record.Lease,
    };
}
