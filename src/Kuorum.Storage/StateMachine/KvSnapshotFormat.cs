using System.Buffers.Binary;
using System.IO.Hashing;

namespace Kuorum.Storage.StateMachine;

/// <summary>
/// The byte format of a key-value snapshot (<see cref="KvStateMachine.WriteSnapshotAsync"/>), little endian throughout:
/// <list type="bullet">
/// <item>a 40-byte header: <c>[magic "KVSN"][format 1, u32][applied index][revision][key count][lease count, u32]</c>
/// then the CRC-32 of those 36 bytes;</item>
/// <item>the lease table: <c>[id][ttl in milliseconds]</c> per lease in id order, then the CRC-32 of the table;</item>
/// <item>blocks: <c>[crc32 of the rest of the block][payload length, u32][record count, u32][payload]</c>, each payload
/// holding whole records <c>[key length, u32][value length, u32][key][create revision][mod revision][version][lease][value]</c>,
/// keys in strictly ascending unsigned byte order across the stream, payloads up to 64 KiB unless one record is larger;</item>
/// <item>an end block with payload length 0 and record count 0.</item>
/// </list>
/// Every byte is covered by a checksum or by a structural check (the header's key count, the end block), so a flipped
/// or missing byte is refused. Two replicas with the same state write the same bytes.
/// </summary>
internal static class KvSnapshotFormat
{
    public const uint Magic = 0x4E53564B; // "KVSN"
    public const uint Format = 1;
    public const int HeaderBytes = 40;
    public const int LeaseBytes = 16;
    public const int BlockHeaderBytes = 12;
    public const int RecordHeaderBytes = 8;
    public const int BlockPayloadBytes = 1 << 16;

    /// <summary>A block payload larger than this is refused as corrupt (a record holds at most a 1 MiB key and a 256 MiB value).</summary>
    public const int MaxBlockPayloadBytes = 1 << 30;

    /// <summary>A lease table longer than this is refused as corrupt.</summary>
    public const int MaxLeases = 1 << 26;

    /// <summary>The end block: an empty payload and no records.</summary>
    public static byte[] EndBlock()
    {
        var block = new byte[BlockHeaderBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(block, Crc32.HashToUInt32(block.AsSpan(4)));
        return block;
    }

    /// <summary>The header and the lease table, each sealed with its checksum.</summary>
    public static byte[] EncodeHeader(long appliedIndex, long revision, long keyCount, IReadOnlyList<(long Id, long TtlMilliseconds)> leases)
    {
        var bytes = new byte[HeaderBytes + (LeaseBytes * leases.Count) + 4];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], Format);
        BinaryPrimitives.WriteInt64LittleEndian(span[8..], appliedIndex);
        BinaryPrimitives.WriteInt64LittleEndian(span[16..], revision);
        BinaryPrimitives.WriteInt64LittleEndian(span[24..], keyCount);
        BinaryPrimitives.WriteUInt32LittleEndian(span[32..], (uint)leases.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(span[36..], Crc32.HashToUInt32(span[..36]));
        var at = HeaderBytes;
        foreach (var (id, ttl) in leases)
        {
            BinaryPrimitives.WriteInt64LittleEndian(span[at..], id);
            BinaryPrimitives.WriteInt64LittleEndian(span[(at + 8)..], ttl);
            at += LeaseBytes;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(span[at..], Crc32.HashToUInt32(span[HeaderBytes..at]));
        return bytes;
    }

    /// <summary>Gathers records into blocks and writes each sealed block to a stream.</summary>
    internal sealed class BlockWriter
    {
        private byte[] _buffer = new byte[BlockHeaderBytes + BlockPayloadBytes];
        private int _length;
        private int _count;

        /// <summary>Adds a record unless the block holds records already and would grow past its size: then flush first.</summary>
        public bool TryAdd(ReadOnlySpan<byte> key, in StoredValue stored)
        {
            var value = stored.Value!;
            var need = RecordHeaderBytes + key.Length + StoredValue.HeaderBytes + value.Length;
            if (_count > 0 && _length + need > BlockPayloadBytes)
            {
                return false;
            }

            if (BlockHeaderBytes + _length + need > _buffer.Length)
            {
                Array.Resize(ref _buffer, BlockHeaderBytes + _length + need);
            }

            var record = _buffer.AsSpan(BlockHeaderBytes + _length, need);
            BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)key.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(record[4..], (uint)value.Length);
            key.CopyTo(record[RecordHeaderBytes..]);
            var rest = record[(RecordHeaderBytes + key.Length)..];
            StoredValue.WriteHeader(rest, stored.CreateRevision, stored.ModRevision, stored.Version, stored.Lease);
            value.CopyTo(rest[StoredValue.HeaderBytes..]);
            _length += need;
            _count++;
            return true;
        }

        /// <summary>Writes the block, if it holds any record, and starts an empty one.</summary>
        public async ValueTask FlushAsync(Stream destination, CancellationToken cancellationToken)
        {
            if (_count == 0)
            {
                return;
            }

            BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(4), (uint)_length);
            BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(8), (uint)_count);
            BinaryPrimitives.WriteUInt32LittleEndian(_buffer, Crc32.HashToUInt32(_buffer.AsSpan(4, 8 + _length)));
            await destination.WriteAsync(_buffer.AsMemory(0, BlockHeaderBytes + _length), cancellationToken).ConfigureAwait(false);
            if (_buffer.Length > BlockHeaderBytes + BlockPayloadBytes)
            {
                _buffer = new byte[BlockHeaderBytes + BlockPayloadBytes];
            }

            _length = 0;
            _count = 0;
        }
    }
}

/// <summary>
/// Reads a snapshot from memory (without copying) or from a stream (through a buffer). A span returned by
/// <see cref="Take"/> is valid until the next call. Offsets in errors are those of the source: of the span, or the
/// stream's position (a file offset for a file).
/// </summary>
internal ref struct KvSnapshotReader
{
    private readonly ReadOnlySpan<byte> _span;
    private readonly Stream? _stream;
    private readonly long _origin;
    private readonly CancellationToken _cancellation;
    private byte[] _buffer;

    public KvSnapshotReader(ReadOnlySpan<byte> span, string source)
    {
        _span = span;
        _buffer = [];
        Source = source;
    }

    public KvSnapshotReader(Stream stream, string source, CancellationToken cancellationToken)
    {
        _stream = stream;
        _origin = stream.Position;
        _cancellation = cancellationToken;
        _buffer = new byte[KvSnapshotFormat.BlockHeaderBytes + KvSnapshotFormat.BlockPayloadBytes];
        Source = source;
    }

    /// <summary>Names the snapshot in errors: a file, or what the owner called it.</summary>
    public string Source { get; }

    /// <summary>Bytes consumed so far.</summary>
    public long Position { get; private set; }

    /// <summary>True when a span source has no byte left; a stream source may go on past the end block.</summary>
    public readonly bool AtEnd => _stream is not null || Position == _span.Length;

    /// <summary>The next <paramref name="count"/> bytes; a source that ends first is corrupt (truncated).</summary>
    public ReadOnlySpan<byte> Take(int count, string expected)
    {
        if (_stream is null)
        {
            if (_span.Length - Position < count)
            {
                throw Corruption(Position, $"{expected}; the snapshot ends after {_span.Length - Position} more bytes");
            }

            var slice = _span.Slice((int)Position, count);
            Position += count;
            return slice;
        }

        _cancellation.ThrowIfCancellationRequested();
        if (_buffer.Length < count)
        {
            _buffer = new byte[Math.Max(count, _buffer.Length * 2)];
        }

        var read = _stream.ReadAtLeast(_buffer.AsSpan(0, count), count, throwOnEndOfStream: false);
        if (read < count)
        {
            throw Corruption(Position, $"{expected}; the snapshot ends after {read} more bytes");
        }

        Position += count;
        return _buffer.AsSpan(0, count);
    }

    public readonly StorageCorruptionException Corruption(long position, string expected) => new(Source, _origin + position, expected);
}
