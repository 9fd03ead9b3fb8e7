using System.Buffers.Binary;
using System.IO.Hashing;
using Kuorum.Raft;

namespace Kuorum.Storage.Log;

/// <summary>What a journal record says.</summary>
internal enum JournalRecordKind : byte
{
    /// <summary>A Raft log entry.</summary>
    Entry = 1,

    /// <summary>Term, vote and commit; the latest one wins.</summary>
    HardState = 2,

    /// <summary>Every entry at or after an index is void (a follower's conflicting suffix).</summary>
    Truncate = 3,

    /// <summary>The state machine snapshotted at an index: entries up to it are void.</summary>
    Compacted = 4,

    /// <summary>A snapshot from the leader replaced the whole log.</summary>
    SnapshotInstalled = 5,
}

/// <summary>
/// One record of the journal, encoded as <c>[crc32 of the rest][kind][payload]</c> (little endian), so a torn or
/// flipped record is detected instead of being read as data.
/// </summary>
internal readonly record struct JournalRecord(
    JournalRecordKind Kind,
    Entry? Entry = null,
    HardState HardState = default,
    long Index = 0,
    SnapshotMetadata? Snapshot = null)
{
    private const int ChecksumBytes = 4;

    public byte[] Encode()
    {
        var payloadLength = Kind switch
        {
            JournalRecordKind.Entry => 17 + Entry!.Data.Length,
            JournalRecordKind.HardState => 24,
            JournalRecordKind.Truncate => 8,
            _ => 16 + 8 + (8 * (Snapshot!.Membership.Voters.Count + Snapshot.Membership.Learners.Count)),
        };
        var bytes = new byte[ChecksumBytes + 1 + payloadLength];
        bytes[ChecksumBytes] = (byte)Kind;
        var payload = bytes.AsSpan(ChecksumBytes + 1);
        switch (Kind)
        {
            case JournalRecordKind.Entry:
                BinaryPrimitives.WriteInt64LittleEndian(payload, Entry!.Index);
                BinaryPrimitives.WriteInt64LittleEndian(payload[8..], Entry.Term);
                payload[16] = (byte)Entry.Type;
                Entry.Data.Span.CopyTo(payload[17..]);
                break;
            case JournalRecordKind.HardState:
                BinaryPrimitives.WriteInt64LittleEndian(payload, HardState.Term);
                BinaryPrimitives.WriteInt64LittleEndian(payload[8..], HardState.Vote);
                BinaryPrimitives.WriteInt64LittleEndian(payload[16..], HardState.Commit);
                break;
            case JournalRecordKind.Truncate:
                BinaryPrimitives.WriteInt64LittleEndian(payload, Index);
                break;
            default:
                var snapshot = Snapshot!;
                BinaryPrimitives.WriteInt64LittleEndian(payload, snapshot.Index);
                BinaryPrimitives.WriteInt64LittleEndian(payload[8..], snapshot.Term);
                BinaryPrimitives.WriteInt32LittleEndian(payload[16..], snapshot.Membership.Voters.Count);
                BinaryPrimitives.WriteInt32LittleEndian(payload[20..], snapshot.Membership.Learners.Count);
                var offset = 24;
                foreach (var id in snapshot.Membership.Voters.Concat(snapshot.Membership.Learners))
                {
                    BinaryPrimitives.WriteInt64LittleEndian(payload[offset..], id);
                    offset += 8;
                }

                break;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(bytes, Crc32.HashToUInt32(bytes.AsSpan(ChecksumBytes)));
        return bytes;
    }

    /// <summary>Decodes a record; returns null with <paramref name="error"/> saying what was expected when it is not valid.</summary>
    public static JournalRecord? Decode(ReadOnlySpan<byte> bytes, out string? error)
    {
        error = null;
        if (bytes.Length < ChecksumBytes + 1)
        {
            error = $"a record of at least {ChecksumBytes + 1} bytes, found {bytes.Length}";
            return null;
        }

        var stored = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        var actual = Crc32.HashToUInt32(bytes[ChecksumBytes..]);
        if (stored != actual)
        {
            error = $"record checksum 0x{stored:x8}, computed 0x{actual:x8}";
            return null;
        }

        var kind = (JournalRecordKind)bytes[ChecksumBytes];
        var payload = bytes[(ChecksumBytes + 1)..];
        switch (kind)
        {
            case JournalRecordKind.Entry when payload.Length >= 17 && payload[16] <= (byte)EntryType.Bootstrap:
                return new JournalRecord(kind, Entry: new Entry(
                    BinaryPrimitives.ReadInt64LittleEndian(payload),
                    BinaryPrimitives.ReadInt64LittleEndian(payload[8..]),
                    (EntryType)payload[16],
                    payload[17..].ToArray()));
            case JournalRecordKind.HardState when payload.Length == 24:
                return new JournalRecord(kind, HardState: new HardState(
                    BinaryPrimitives.ReadInt64LittleEndian(payload),
                    BinaryPrimitives.ReadInt64LittleEndian(payload[8..]),
                    BinaryPrimitives.ReadInt64LittleEndian(payload[16..])));
            case JournalRecordKind.Truncate when payload.Length == 8:
                return new JournalRecord(kind, Index: BinaryPrimitives.ReadInt64LittleEndian(payload));
            case JournalRecordKind.Compacted or JournalRecordKind.SnapshotInstalled when payload.Length >= 24:
                var voters = BinaryPrimitives.ReadInt32LittleEndian(payload[16..]);
                var learners = BinaryPrimitives.ReadInt32LittleEndian(payload[20..]);
                if (voters < 0 || learners < 0 || payload.Length != 24 + (8L * (voters + learners)))
                {
                    break;
                }

                var ids = new long[voters + learners];
                for (var i = 0; i < ids.Length; i++)
                {
                    ids[i] = BinaryPrimitives.ReadInt64LittleEndian(payload[(24 + (8 * i))..]);
                }

                try
                {
                    return new JournalRecord(kind, Snapshot: new SnapshotMetadata(
                        BinaryPrimitives.ReadInt64LittleEndian(payload),
                        BinaryPrimitives.ReadInt64LittleEndian(payload[8..]),
                        new Membership(ids[..voters], ids[voters..])));
                }
                catch (ArgumentException e)
                {
                    error = $"a valid snapshot membership ({e.Message})";
                    return null;
                }
        }

        error = $"a well-formed record (kind {(byte)kind}, {payload.Length} payload bytes)";
        return null;
    }
}
