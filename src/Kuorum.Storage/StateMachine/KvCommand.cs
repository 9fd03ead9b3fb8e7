using System.Buffers.Binary;

namespace Kuorum.Storage.StateMachine;

/// <summary>
/// What a command does. The value is the first byte of an encoded command and also names its format: a future format
/// gets new kinds, so old entries in a log always decode the way they were written.
/// </summary>
public enum KvCommandKind : byte
{
    /// <summary>Sets a key's value: <c>[1][key length, u32 LE][key][value]</c>.</summary>
    Put = 1,

    /// <summary>Removes a key: <c>[2][key]</c>.</summary>
    Delete = 2,
}

/// <summary>
/// A change to the key-value state machine, carried as the data of a Normal Raft entry. Build one with
/// <see cref="Put"/> or <see cref="Delete"/> (which check the <see cref="KvLimits"/>), propose its
/// <see cref="Encode"/>d bytes, and the state machine <see cref="Decode"/>s them once committed.
/// </summary>
public sealed class KvCommand
{
    private const int PutHeaderBytes = 5;

    private KvCommand(KvCommandKind kind, ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value)
    {
        Kind = kind;
        Key = key;
        Value = value;
    }

    /// <summary>Put or Delete.</summary>
    public KvCommandKind Kind { get; }

    /// <summary>The key, 1 or more bytes.</summary>
    public ReadOnlyMemory<byte> Key { get; }

    /// <summary>The value of a Put; empty for a Delete.</summary>
    public ReadOnlyMemory<byte> Value { get; }

    /// <summary>A Put of <paramref name="value"/> at <paramref name="key"/>; throws <see cref="ArgumentException"/> naming a broken limit.</summary>
    public static KvCommand Put(ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, KvLimits? limits = null)
    {
        limits ??= KvLimits.Default;
        limits.CheckKey(key.Span);
        limits.CheckValue(value.Span);
        return new KvCommand(KvCommandKind.Put, key, value);
    }

    /// <summary>A Delete of <paramref name="key"/>; throws <see cref="ArgumentException"/> naming a broken limit.</summary>
    public static KvCommand Delete(ReadOnlyMemory<byte> key, KvLimits? limits = null)
    {
        (limits ?? KvLimits.Default).CheckKey(key.Span);
        return new KvCommand(KvCommandKind.Delete, key, ReadOnlyMemory<byte>.Empty);
    }

    /// <summary>The bytes to carry in a Raft entry's data.</summary>
    public byte[] Encode()
    {
        if (Kind == KvCommandKind.Delete)
        {
            var delete = new byte[1 + Key.Length];
            delete[0] = (byte)KvCommandKind.Delete;
            Key.Span.CopyTo(delete.AsSpan(1));
            return delete;
        }

        var put = new byte[PutHeaderBytes + Key.Length + Value.Length];
        put[0] = (byte)KvCommandKind.Put;
        BinaryPrimitives.WriteUInt32LittleEndian(put.AsSpan(1), (uint)Key.Length);
        Key.Span.CopyTo(put.AsSpan(PutHeaderBytes));
        Value.Span.CopyTo(put.AsSpan(PutHeaderBytes + Key.Length));
        return put;
    }

    /// <summary>
    /// Reads a command from a Raft entry's data, without copying: <see cref="Key"/> and <see cref="Value"/> are slices of
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

                return new KvCommand(KvCommandKind.Delete, data[1..], ReadOnlyMemory<byte>.Empty);
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
                return new KvCommand(KvCommandKind.Put, data[PutHeaderBytes..keyEnd], data[keyEnd..]);
            default:
                throw new InvalidDataException($"a key-value command kind ({(byte)KvCommandKind.Put} Put or {(byte)KvCommandKind.Delete} Delete), found {span[0]}");
        }
    }

    /// <inheritdoc />
    public override string ToString() => Kind == KvCommandKind.Put
        ? $"Put {Convert.ToHexString(Key.Span)} ({Value.Length}B)"
        : $"Delete {Convert.ToHexString(Key.Span)}";
}
