using System.Buffers.Binary;

namespace Kuorum.Storage.StateMachine;

/// <summary>
/// A FASTER value of the state machine: <c>[create revision][mod revision][version][lease]</c> (i64 LE each) then the
/// user's value bytes. <see cref="Value"/> is only filled when a read asks for it.
/// </summary>
internal readonly record struct StoredValue(long CreateRevision, long ModRevision, long Version, long Lease, byte[]? Value)
{
    public const int HeaderBytes = 32;

    public static void WriteHeader(Span<byte> destination, long createRevision, long modRevision, long version, long lease)
    {
        BinaryPrimitives.WriteInt64LittleEndian(destination, createRevision);
        BinaryPrimitives.WriteInt64LittleEndian(destination[8..], modRevision);
        BinaryPrimitives.WriteInt64LittleEndian(destination[16..], version);
        BinaryPrimitives.WriteInt64LittleEndian(destination[24..], lease);
    }

    /// <summary>Bytes of the stored value: the header and the user's value.</summary>
    public int Length { get; init; }

    /// <summary>Reads a stored value; a value too short for the header reads as version 0, which no live key has.</summary>
    public static StoredValue Read(ReadOnlySpan<byte> stored, bool withValue) =>
        stored.Length < HeaderBytes
            ? new StoredValue { Length = stored.Length }
            : new StoredValue(
                BinaryPrimitives.ReadInt64LittleEndian(stored),
                BinaryPrimitives.ReadInt64LittleEndian(stored[8..]),
                BinaryPrimitives.ReadInt64LittleEndian(stored[16..]),
                BinaryPrimitives.ReadInt64LittleEndian(stored[24..]),
                withValue ? stored[HeaderBytes..].ToArray() : null)
            { Length = stored.Length };

    /// <summary>
    /// About what a record of a <paramref name="keyBytes"/>-byte key and a <paramref name="storedBytes"/>-byte stored
    /// value takes in FASTER's log: its 8-byte header, then key and value each with a 4-byte length, 8-byte aligned.
    /// </summary>
    public static long RecordBytes(int keyBytes, int storedBytes) => 8 + Align8(4 + keyBytes) + Align8(4 + storedBytes);

    private static long Align8(long bytes) => (bytes + 7) & ~7L;

    /// <summary>Whether the revisions can belong to a live key of a store at <paramref name="revision"/>.</summary>
    public bool IsConsistent(long revision) =>
        Version >= 1 && CreateRevision >= 1 && CreateRevision <= ModRevision && ModRevision <= revision
        && Version <= ModRevision - CreateRevision + 1 && Lease >= 0;
}
