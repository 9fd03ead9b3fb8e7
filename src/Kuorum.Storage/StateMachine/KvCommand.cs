using System.Buffers.Binary;

namespace Kuorum.Storage.StateMachine;

/// <summary>
/// What a command does. The value is the first byte of an encoded command and also names its format: a future format
/// gets new kinds, so old entries in a log always decode the way they were written.
/// </summary>
public enum KvCommandKind : byte
{
    /// <summary>Sets a key's value, with no lease: <c>[1][key length, u32 LE][key][value]</c>.</summary>
    Put = 1,

    /// <summary>Removes a key: <c>[2][key]</c>.</summary>
    Delete = 2,

    /// <summary>
    /// A transaction: <c>[3][compare count, u32][compares][success count, u32][ops][failure count, u32][ops]</c>; a
    /// compare is <c>[target][operator][key length, u32][key]</c> then <c>[operand, i64]</c> or, for a value,
    /// <c>[value length, u32][value]</c>; an op is <c>[kind][key length, u32][key]</c>, a Put then
    /// <c>[lease, i64][value length, u32][value]</c>. All integers little endian.
    /// </summary>
    Txn = 3,

    /// <summary>Creates a lease: <c>[4][lease id, i64][ttl in milliseconds, i64]</c>.</summary>
    LeaseGrant = 4,

    /// <summary>Ends a lease and deletes every key attached to it: <c>[5][lease id, i64]</c>.</summary>
    LeaseRevoke = 5,

    /// <summary>Sets a key's value and attaches it to a lease: <c>[6][lease id, i64][key length, u32][key][value]</c>.</summary>
    PutWithLease = 6,
}

/// <summary>
/// A change to the key-value state machine, carried as the data of a Normal Raft entry. Build one with
/// <see cref="Put(ReadOnlyMemory{byte}, ReadOnlyMemory{byte}, KvLimits?)"/>, <see cref="Delete"/>, <see cref="Txn"/>,
/// <see cref="LeaseGrant"/> or <see cref="LeaseRevoke"/> (which check the <see cref="KvLimits"/>), propose its
/// <see cref="Encode"/>d bytes, and the state machine <see cref="Decode"/>s them once committed.
/// <para>
/// Lease keep-alives are no command: the leader tracks them and, when a lease expires by its clock, proposes a
/// <see cref="LeaseRevoke"/>, so applying the log never reads a clock.
/// </para>
/// </summary>
public sealed class KvCommand
{
    private const int PutHeaderBytes = 5;
    private const int LeasedPutHeaderBytes = 13;

    private static readonly IReadOnlyList<KvCompare> _noCompares = [];
    private static readonly IReadOnlyList<KvOp> _noOps = [];

    private KvCommand(KvCommandKind kind, ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, long lease)
    {
        Kind = kind;
        Key = key;
        Value = value;
        Lease = lease;
    }

    /// <summary>What the command does.</summary>
    public KvCommandKind Kind { get; }

    /// <summary>The key of a Put or Delete, 1 or more bytes; empty otherwise.</summary>
    public ReadOnlyMemory<byte> Key { get; }

    /// <summary>The value of a Put; empty otherwise.</summary>
    public ReadOnlyMemory<byte> Value { get; }

    /// <summary>The lease of a Put (0: none), or the lease a LeaseGrant or LeaseRevoke is about; 0 otherwise.</summary>
    public long Lease { get; }

    /// <summary>A LeaseGrant's time to live, in milliseconds; 0 otherwise. Only the leader's expiry tracking reads it.</summary>
    public long TtlMilliseconds { get; private init; }

    /// <summary>A Txn's conditions, all of which must hold for <see cref="Success"/> to run; empty otherwise.</summary>
    public IReadOnlyList<KvCompare> Compares { get; private init; } = _noCompares;

    /// <summary>A Txn's operations when every compare holds; empty otherwise.</summary>
    public IReadOnlyList<KvOp> Success { get; private init; } = _noOps;

    /// <summary>A Txn's operations when a compare fails; empty otherwise.</summary>
    public IReadOnlyList<KvOp> Failure { get; private init; } = _noOps;

    /// <summary>A Put of <paramref name="value"/> at <paramref name="key"/>; throws <see cref="ArgumentException"/> naming a broken limit.</summary>
    public static KvCommand Put(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, KvLimits? limits = null) => Put(key, value, 0, limits);

    /// <summary>
    /// A Put of <paramref name="value"/> at <paramref name="key"/> attached to <paramref name="lease"/> (0: none, which
    /// also detaches the key from a lease it had); throws <see cref="ArgumentException"/> naming a broken limit.
    /// </summary>
    public static KvCommand Put(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, long lease, KvLimits? limits = null)
    {
        limits ??= KvLimits.Default;
        limits.CheckKey(key.Span);
        limits.CheckValue(value.Span);
        ArgumentOutOfRangeException.ThrowIfNegative(lease);
        return new KvCommand(lease == 0 ? KvCommandKind.Put : KvCommandKind.PutWithLease, key, value, lease);
    }

    /// <summary>A Delete of <paramref name="key"/>; throws <see cref="ArgumentException"/> naming a broken limit.</summary>
    public static KvCommand Delete(ReadOnlyMemory<byte> key, KvLimits? limits = null)
    {
        (limits ?? KvLimits.Default).CheckKey(key.Span);
        return new KvCommand(KvCommandKind.Delete, key, ReadOnlyMemory<byte>.Empty, 0);
    }

    /// <summary>
    /// A transaction (etcd's Txn): when every one of <paramref name="compares"/> holds, <paramref name="success"/> runs,
    /// otherwise <paramref name="failure"/>; all its writes share one new revision. Throws <see cref="ArgumentException"/>
    /// naming a broken limit (each list holds at most <see cref="KvLimits.MaxTxnOps"/>, and all of it at most
    /// <see cref="KvLimits.MaxTxnBytes"/> of keys and values), or when a branch writes a key
    /// twice (etcd refuses that too: one revision can hold one change per key).
    /// </summary>
    public static KvCommand Txn(IReadOnlyList<KvCompare> compares, IReadOnlyList<KvOp> success, IReadOnlyList<KvOp> failure, KvLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(compares);
        ArgumentNullException.ThrowIfNull(success);
        ArgumentNullException.ThrowIfNull(failure);
        limits ??= KvLimits.Default;
        limits.CheckTxnOps(compares.Count, "compares");
        limits.CheckTxnOps(success.Count, "success operations");
        limits.CheckTxnOps(failure.Count, "failure operations");
        foreach (var compare in compares)
        {
            ArgumentNullException.ThrowIfNull(compare, nameof(compares));
            limits.CheckKey(compare.Key.Span);
        }

        CheckBranch(success, "success", limits);
        CheckBranch(failure, "failure", limits);
        limits.CheckTxnBytes(
            compares.Sum(c => (long)c.Key.Length + c.Bytes.Length) + success.Concat(failure).Sum(op => (long)op.Key.Length + op.Value.Length));
        return new KvCommand(KvCommandKind.Txn, ReadOnlyMemory<byte>.Empty, ReadOnlyMemory<byte>.Empty, 0)
        {
            Compares = [.. compares],
            Success = [.. success],
            Failure = [.. failure],
        };
    }

    /// <summary>Creates lease <paramref name="lease"/> (a positive id the leader picks) living <paramref name="ttlMilliseconds"/> without keep-alives.</summary>
    public static KvCommand LeaseGrant(long lease, long ttlMilliseconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(lease);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ttlMilliseconds);
        return new KvCommand(KvCommandKind.LeaseGrant, ReadOnlyMemory<byte>.Empty, ReadOnlyMemory<byte>.Empty, lease) { TtlMilliseconds = ttlMilliseconds };
    }

    /// <summary>Ends lease <paramref name="lease"/>, deleting every key attached to it at one revision.</summary>
    public static KvCommand LeaseRevoke(long lease)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(lease);
        return new KvCommand(KvCommandKind.LeaseRevoke, ReadOnlyMemory<byte>.Empty, ReadOnlyMemory<byte>.Empty, lease);
    }

    /// <summary>The bytes to carry in a Raft entry's data.</summary>
    public byte[] Encode()
    {
        switch (Kind)
        {
            case KvCommandKind.Delete:
                var delete = new byte[1 + Key.Length];
                delete[0] = (byte)KvCommandKind.Delete;
                Key.Span.CopyTo(delete.AsSpan(1));
                return delete;
            case KvCommandKind.Put:
                var put = new byte[PutHeaderBytes + Key.Length + Value.Length];
                put[0] = (byte)KvCommandKind.Put;
                BinaryPrimitives.WriteUInt32LittleEndian(put.AsSpan(1), (uint)Key.Length);
                Key.Span.CopyTo(put.AsSpan(PutHeaderBytes));
                Value.Span.CopyTo(put.AsSpan(PutHeaderBytes + Key.Length));
                return put;
            case KvCommandKind.PutWithLease:
                var leased = new byte[LeasedPutHeaderBytes + Key.Length + Value.Length];
                leased[0] = (byte)KvCommandKind.PutWithLease;
                BinaryPrimitives.WriteInt64LittleEndian(leased.AsSpan(1), Lease);
                BinaryPrimitives.WriteUInt32LittleEndian(leased.AsSpan(9), (uint)Key.Length);
                Key.Span.CopyTo(leased.AsSpan(LeasedPutHeaderBytes));
                Value.Span.CopyTo(leased.AsSpan(LeasedPutHeaderBytes + Key.Length));
                return leased;
            case KvCommandKind.LeaseGrant:
                var grant = new byte[17];
                grant[0] = (byte)KvCommandKind.LeaseGrant;
                BinaryPrimitives.WriteInt64LittleEndian(grant.AsSpan(1), Lease);
                BinaryPrimitives.WriteInt64LittleEndian(grant.AsSpan(9), TtlMilliseconds);
                return grant;
            case KvCommandKind.LeaseRevoke:
                var revoke = new byte[9];
                revoke[0] = (byte)KvCommandKind.LeaseRevoke;
                BinaryPrimitives.WriteInt64LittleEndian(revoke.AsSpan(1), Lease);
                return revoke;
            default:
                return EncodeTxn();
        }
    }

    /// <summary>
    /// Reads a command from a Raft entry's data, without copying: keys and values are slices of
    /// <paramref name="data"/>. Throws <see cref="InvalidDataException"/> saying what is wrong with the bytes.
    /// </summary>
    public static KvCommand Decode(ReadOnlyMemory<byte> data)
    {
        if (data.IsEmpty)
        {
            throw new InvalidDataException("a key-value command of at least 2 bytes, found none");
        }

        var span = data.Span;
        switch ((KvCommandKind)span[0])
        {
            case KvCommandKind.Delete:
                if (data.Length < 2)
                {
                    throw new InvalidDataException("a Delete command with a key of at least 1 byte, found an empty key");
                }

                return new KvCommand(KvCommandKind.Delete, data[1..], ReadOnlyMemory<byte>.Empty, 0);
            case KvCommandKind.Put:
                if (data.Length < PutHeaderBytes)
                {
                    throw new InvalidDataException($"a Put command of at least {PutHeaderBytes + 1} bytes, found {data.Length}");
                }

                var keyLength = BinaryPrimitives.ReadUInt32LittleEndian(span[1..]);
                if (keyLength < 1 || keyLength > data.Length - PutHeaderBytes)
                {
                    throw new InvalidDataException($"a Put command with a key length in 1..{data.Length - PutHeaderBytes}, found {keyLength}");
                }

                var keyEnd = PutHeaderBytes + (int)keyLength;
                return new KvCommand(KvCommandKind.Put, data[PutHeaderBytes..keyEnd], data[keyEnd..], 0);
            case KvCommandKind.PutWithLease:
            {
                var reader = new Reader(data, 1, "PutWithLease");
                var lease = reader.Int64("lease", min: 1);
                var key = reader.Key();
                return new KvCommand(KvCommandKind.PutWithLease, key, reader.Rest(), lease);
            }

            case KvCommandKind.LeaseGrant:
            {
                var reader = new Reader(data, 1, "LeaseGrant");
                var lease = reader.Int64("lease", min: 1);
                var ttl = reader.Int64("ttl", min: 1);
                reader.End();
                return new KvCommand(KvCommandKind.LeaseGrant, ReadOnlyMemory<byte>.Empty, ReadOnlyMemory<byte>.Empty, lease) { TtlMilliseconds = ttl };
            }

            case KvCommandKind.LeaseRevoke:
            {
                var reader = new Reader(data, 1, "LeaseRevoke");
                var lease = reader.Int64("lease", min: 1);
                reader.End();
                return new KvCommand(KvCommandKind.LeaseRevoke, ReadOnlyMemory<byte>.Empty, ReadOnlyMemory<byte>.Empty, lease);
            }

            case KvCommandKind.Txn:
                return DecodeTxn(data);
            default:
                throw new InvalidDataException($"a key-value command kind (1..6: Put, Delete, Txn, LeaseGrant, LeaseRevoke, PutWithLease), found {span[0]}");
        }
    }

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        KvCommandKind.Put => $"Put {Convert.ToHexString(Key.Span)} ({Value.Length}B)",
        KvCommandKind.PutWithLease => $"Put {Convert.ToHexString(Key.Span)} ({Value.Length}B, lease {Lease})",
        KvCommandKind.Delete => $"Delete {Convert.ToHexString(Key.Span)}",
        KvCommandKind.LeaseGrant => $"LeaseGrant {Lease} ({TtlMilliseconds}ms)",
        KvCommandKind.LeaseRevoke => $"LeaseRevoke {Lease}",
        _ => $"Txn ({Compares.Count} compares, {Success.Count} success, {Failure.Count} failure)",
    };

    /// <summary>The operations a Put or Delete amounts to (one), or a Txn's branch chosen by <paramref name="succeeded"/>.</summary>
    internal IReadOnlyList<KvOp> Operations(bool succeeded) => Kind switch
    {
        KvCommandKind.Put or KvCommandKind.PutWithLease => [KvOp.Put(Key, Value, Lease)],
        KvCommandKind.Delete => [KvOp.Delete(Key)],
        KvCommandKind.Txn => succeeded ? Success : Failure,
        _ => _noOps,
    };

    private static void CheckBranch(IReadOnlyList<KvOp> ops, string branch, KvLimits limits)
    {
        var written = new SortedSet<byte[]>(ByteOrder.Instance);
        foreach (var op in ops)
        {
            ArgumentNullException.ThrowIfNull(op, branch);
            limits.CheckKey(op.Key.Span);
            limits.CheckValue(op.Value.Span);
            ArgumentOutOfRangeException.ThrowIfNegative(op.Lease, branch);
            if (op.Kind != KvOpKind.Get && !written.Add(op.Key.ToArray()))
            {
                throw new ArgumentException($"the {branch} branch writes key {Convert.ToHexString(op.Key.Span)} twice; a txn writes a key at most once", branch);
            }
        }
    }

    private byte[] EncodeTxn()
    {
        var length = 1 + 12;
        foreach (var compare in Compares)
        {
            length += 2 + 4 + compare.Key.Length + (compare.Target == KvCompareTarget.Value ? 4 + compare.Bytes.Length : 8);
        }

        foreach (var op in Success.Concat(Failure))
        {
            length += 1 + 4 + op.Key.Length + (op.Kind == KvOpKind.Put ? 12 + op.Value.Length : 0);
        }

        var bytes = new byte[length];
        bytes[0] = (byte)KvCommandKind.Txn;
        var at = 1;
        at = WriteUInt32(bytes, at, Compares.Count);
        foreach (var compare in Compares)
        {
            bytes[at++] = (byte)compare.Target;
            bytes[at++] = (byte)compare.Operator;
            at = WriteBytes(bytes, at, compare.Key.Span);
            if (compare.Target == KvCompareTarget.Value)
            {
                at = WriteBytes(bytes, at, compare.Bytes.Span);
            }
            else
            {
                BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(at), compare.Number);
                at += 8;
            }
        }

        foreach (var branch in (IReadOnlyList<KvOp>[])[Success, Failure])
        {
            at = WriteUInt32(bytes, at, branch.Count);
            foreach (var op in branch)
            {
                bytes[at++] = (byte)op.Kind;
                at = WriteBytes(bytes, at, op.Key.Span);
                if (op.Kind == KvOpKind.Put)
                {
                    BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(at), op.Lease);
                    at = WriteBytes(bytes, at + 8, op.Value.Span);
                }
            }
        }

        return bytes;
    }

    private static int WriteUInt32(byte[] bytes, int at, int value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), (uint)value);
        return at + 4;
    }

    private static int WriteBytes(byte[] bytes, int at, ReadOnlySpan<byte> value)
    {
        at = WriteUInt32(bytes, at, value.Length);
        value.CopyTo(bytes.AsSpan(at));
        return at + value.Length;
    }

    private static KvCommand DecodeTxn(ReadOnlyMemory<byte> data)
    {
        var reader = new Reader(data, 1, "Txn");
        var compareCount = reader.Count("compare", 2 + 4 + 1 + 4);
        var compares = new KvCompare[compareCount];
        for (var i = 0; i < compares.Length; i++)
        {
            var target = (KvCompareTarget)reader.Byte("compare target", (byte)KvCompareTarget.Lease);
            var @operator = (KvCompareOperator)reader.Byte("compare operator", (byte)KvCompareOperator.Less);
            var key = reader.Key();
            compares[i] = target == KvCompareTarget.Value
                ? KvCompare.Create(key, target, @operator, 0, reader.Bytes("compared value"))
                : KvCompare.Create(key, target, @operator, reader.Int64("compared number", long.MinValue), ReadOnlyMemory<byte>.Empty);
        }

        var success = DecodeBranch(ref reader, "success");
        var failure = DecodeBranch(ref reader, "failure");
        reader.End();
        return new KvCommand(KvCommandKind.Txn, ReadOnlyMemory<byte>.Empty, ReadOnlyMemory<byte>.Empty, 0)
        {
            Compares = compares,
            Success = success,
            Failure = failure,
        };
    }

    private static KvOp[] DecodeBranch(ref Reader reader, string branch)
    {
        var ops = new KvOp[reader.Count($"{branch} operation", 1 + 4 + 1)];
        var written = new SortedSet<byte[]>(ByteOrder.Instance);
        for (var i = 0; i < ops.Length; i++)
        {
            var kind = (KvOpKind)reader.Byte($"{branch} operation kind", (byte)KvOpKind.Get, min: 1);
            var key = reader.Key();
            if (kind != KvOpKind.Get && !written.Add(key.ToArray()))
            {
                throw new InvalidDataException($"a Txn whose {branch} branch writes each key at most once, found key {Convert.ToHexString(key.Span)} written twice");
            }

            if (kind == KvOpKind.Put)
            {
                var lease = reader.Int64("lease", min: 0);
                ops[i] = KvOp.Put(key, reader.Bytes("value"), lease);
            }
            else
            {
                ops[i] = kind == KvOpKind.Delete ? KvOp.Delete(key) : KvOp.Get(key);
            }
        }

        return ops;
    }

    // Reads a command's fields in order, throwing InvalidDataException in Decode's words ("a ..., found ...").
    private struct Reader(ReadOnlyMemory<byte> data, int at, string command)
    {
        private int _at = at;

        public long Int64(string field, long min)
        {
            Need(8, field);
            var value = BinaryPrimitives.ReadInt64LittleEndian(data.Span[_at..]);
            if (value < min)
            {
                throw new InvalidDataException($"a {command} command with a {field} of at least {min}, found {value}");
            }

            _at += 8;
            return value;
        }

        public byte Byte(string field, byte max, byte min = 0)
        {
            Need(1, field);
            var value = data.Span[_at];
            if (value < min || value > max)
            {
                throw new InvalidDataException($"a {command} command with a {field} in {min}..{max}, found {value}");
            }

            _at++;
            return value;
        }

        public int Count(string item, int smallestItemBytes)
        {
            Need(4, $"{item} count");
            var count = BinaryPrimitives.ReadUInt32LittleEndian(data.Span[_at..]);
            _at += 4;
            if (count > (uint)((data.Length - _at) / smallestItemBytes))
            {
                throw new InvalidDataException($"a {command} command with room for its {count} {item}s, found {data.Length - _at} bytes left");
            }

            return (int)count;
        }

        public ReadOnlyMemory<byte> Key()
        {
            var key = Bytes("key");
            if (key.IsEmpty)
            {
                throw new InvalidDataException($"a {command} command with a key of at least 1 byte, found an empty key");
            }

            return key;
        }

        public ReadOnlyMemory<byte> Bytes(string field)
        {
            Need(4, $"{field} length");
            var length = BinaryPrimitives.ReadUInt32LittleEndian(data.Span[_at..]);
            _at += 4;
            if (length > (uint)(data.Length - _at))
            {
                throw new InvalidDataException($"a {command} command with a {field} length in 0..{data.Length - _at}, found {length}");
            }

            var bytes = data.Slice(_at, (int)length);
            _at += (int)length;
            return bytes;
        }

        public readonly ReadOnlyMemory<byte> Rest() => data[_at..];

        public readonly void End()
        {
            if (_at != data.Length)
            {
                throw new InvalidDataException($"a {command} command of {_at} bytes, found {data.Length}");
            }
        }

        private readonly void Need(int bytes, string field)
        {
            if (data.Length - _at < bytes)
            {
                throw new InvalidDataException($"a {command} command with {bytes} bytes of {field} at offset {_at}, found {data.Length - _at}");
            }
        }
    }
}
