namespace Kuorum.Storage.StateMachine;

/// <summary>What a <see cref="KvOp"/> of a transaction branch does.</summary>
public enum KvOpKind : byte
{
    /// <summary>Sets a key's value, attaching it to a lease or to none.</summary>
    Put = 1,

    /// <summary>Removes a key.</summary>
    Delete = 2,

    /// <summary>Reads a key; its <see cref="KvOpResult.Record"/> is the key as the transaction left it so far.</summary>
    Get = 3,
}

/// <summary>One operation of a transaction branch (see <see cref="KvCommand.Txn"/>).</summary>
public sealed class KvOp
{
    private KvOp(KvOpKind kind, ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, long lease)
    {
        Kind = kind;
        Key = key;
        Value = value;
        Lease = lease;
    }

    /// <summary>Put, Delete or Get.</summary>
    public KvOpKind Kind { get; }

    /// <summary>The key, 1 or more bytes.</summary>
    public ReadOnlyMemory<byte> Key { get; }

    /// <summary>The value of a Put; empty otherwise.</summary>
    public ReadOnlyMemory<byte> Value { get; }

    /// <summary>The lease a Put attaches the key to, 0 for none; 0 otherwise.</summary>
    public long Lease { get; }

    /// <summary>A Put of <paramref name="value"/> at <paramref name="key"/>, attached to <paramref name="lease"/> (0: none).</summary>
    public static KvOp Put(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, long lease = 0) => new(KvOpKind.Put, key, value, lease);

    /// <summary>A Delete of <paramref name="key"/>.</summary>
    public static KvOp Delete(ReadOnlyMemory<byte> key) => new(KvOpKind.Delete, key, ReadOnlyMemory<byte>.Empty, 0);

    /// <summary>A read of <paramref name="key"/>.</summary>
    public static KvOp Get(ReadOnlyMemory<byte> key) => new(KvOpKind.Get, key, ReadOnlyMemory<byte>.Empty, 0);

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        KvOpKind.Put => $"Put {Convert.ToHexString(Key.Span)} ({Value.Length}B{(Lease == 0 ? "" : $", lease {Lease}")})",
        KvOpKind.Delete => $"Delete {Convert.ToHexString(Key.Span)}",
        _ => $"Get {Convert.ToHexString(Key.Span)}",
    };
}

/// <summary>
/// What one operation did: for a Get the record read (null when missing); for a Delete the number of keys deleted
/// (0 or 1; for a LeaseRevoke the keys it deleted); a Put carries nothing more.
/// </summary>
public sealed record KvOpResult(KvOpKind Kind, KvRecord? Record, int Deleted);
