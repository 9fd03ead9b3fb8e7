using System.Buffers.Binary;
using System.IO.Hashing;
using FASTER.core;

namespace Kuorum.Storage.StateMachine;

// Snapshots of the whole state: written as a stream for a Raft snapshot file, and restored on a follower that was sent
// one (or on a node whose state machine fell behind its compacted journal).
public sealed partial class KvStateMachine
{
    // Present while a restore replaces the state: the old state is gone, the new one not yet durable.
    private const string RestoreMarkerName = "restore-in-progress";

    /// <summary>
    /// Writes the whole state at <see cref="AppliedIndex"/> to <paramref name="destination"/> as a self-describing,
    /// checksummed stream: applied index, revision, the lease table, then every key in byte order with its value,
    /// create and mod revisions, version and lease, in blocks of about 64 KiB (never the whole state in one array).
    /// Nothing may be applied until the returned task completes (the state machine is not thread-safe): a change
    /// detected meanwhile throws <see cref="InvalidOperationException"/>. Equal states give equal bytes.
    /// </summary>
    public async Task WriteSnapshotAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ThrowIfUnusable();
        var (applied, revision, keyCount) = (AppliedIndex, Revision, _keys.Count);
        var leases = _leases.OrderBy(pair => pair.Key).Select(pair => (pair.Key, pair.Value.TtlMilliseconds)).ToList();
        await destination.WriteAsync(KvSnapshotFormat.EncodeHeader(applied, revision, keyCount, leases), cancellationToken).ConfigureAwait(false);
        var block = new KvSnapshotFormat.BlockWriter();
        var written = 0;
        foreach (var key in _keys)
        {
            if (!TryRead(key, withValue: true, out var stored))
            {
                throw KeySetMismatch(key);
            }

            if (!block.TryAdd(key, stored))
            {
                await block.FlushAsync(destination, cancellationToken).ConfigureAwait(false);
                if (AppliedIndex != applied)
                {
                    throw new InvalidOperationException($"the state machine in {_directory} applied entries while its snapshot at {applied} was being written");
                }

                block.TryAdd(key, stored);
            }

            written++;
        }

        await block.FlushAsync(destination, cancellationToken).ConfigureAwait(false);
        if (written != keyCount || AppliedIndex != applied || Revision != revision)
        {
            throw new InvalidOperationException($"the state machine in {_directory} changed while its snapshot at {applied} was being written");
        }

        await destination.WriteAsync(KvSnapshotFormat.EndBlock(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Replaces the whole state with the snapshot in <paramref name="source"/> (as <see cref="WriteSnapshotAsync"/>
    /// wrote it, and nothing after it): keys, leases, revision and applied index; the watch history restarts empty, so
    /// a watch from before the snapshot's revision is answered compacted. The snapshot is checked whole before anything
    /// changes: a corrupt or truncated one throws <see cref="StorageCorruptionException"/> naming
    /// <paramref name="sourceName"/>, the offset and what was expected, and leaves the state as it was. Then FASTER's
    /// store is recreated empty, loaded and checkpointed, so the new state is durable when this returns. A crash in
    /// the middle leaves a state machine that opens empty (see <see cref="Open"/>). Allowed even after a failed apply:
    /// it replaces everything.
    /// </summary>
    public void RestoreSnapshot(ReadOnlySpan<byte> source, string? sourceName = null) => RestoreSnapshot(source, sourceName, expectedAppliedIndex: null);

    /// <summary>
    /// Replaces the whole state with the snapshot read from <paramref name="source"/>'s position, as
    /// <see cref="RestoreSnapshot(ReadOnlySpan{byte}, string?)"/> does; reading stops after the snapshot's end block.
    /// The stream is read twice (checked, then loaded), so it must be seekable. Errors name a file stream's file and
    /// give offsets in the stream (file offsets for a file).
    /// </summary>
    public void RestoreSnapshot(Stream source, CancellationToken cancellationToken = default) => RestoreSnapshot(source, expectedAppliedIndex: null, cancellationToken);

    /// <summary>As the public overload; a snapshot whose applied index is not <paramref name="expectedAppliedIndex"/> (when given) is refused as corrupt.</summary>
    internal void RestoreSnapshot(ReadOnlySpan<byte> source, string? sourceName, long? expectedAppliedIndex)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var name = sourceName ?? "snapshot data";
        var check = new KvSnapshotReader(source, name);
        ReadSnapshot(ref check, load: false, expectedAppliedIndex);
        var load = new KvSnapshotReader(source, name);
        Replace(ref load, expectedAppliedIndex);
    }

    /// <summary>As the public overload; a snapshot whose applied index is not <paramref name="expectedAppliedIndex"/> (when given) is refused as corrupt.</summary>
    internal void RestoreSnapshot(Stream source, long? expectedAppliedIndex, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!source.CanSeek)
        {
            throw new ArgumentException("a snapshot is read twice (checked whole, then loaded), so the stream must be seekable", nameof(source));
        }

        var start = source.Position;
        var name = source is FileStream file ? file.Name : "snapshot stream";
        var check = new KvSnapshotReader(source, name, cancellationToken);
        ReadSnapshot(ref check, load: false, expectedAppliedIndex);
        source.Position = start;
        var load = new KvSnapshotReader(source, name, cancellationToken);
        Replace(ref load, expectedAppliedIndex);
    }

    /// <summary>Empties the state machine durably (applied index 0), as a restore of an empty snapshot would.</summary>
    internal void ResetToEmpty()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        try
        {
            BeginReplace();
            EndReplace(0, 0);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _failure = e;
            throw;
        }
    }

    private void Replace(ref KvSnapshotReader reader, long? expectedAppliedIndex)
    {
        try
        {
            BeginReplace();
            var (applied, revision) = ReadSnapshot(ref reader, load: true, expectedAppliedIndex);
            EndReplace(applied, revision);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Half loaded (or the source changed since it was checked): unusable until reopened, which opens empty.
            _failure = e;
            throw;
        }
    }

    // Marks the restore durably, then drops the old store and its files and starts an empty one.
    private void BeginReplace()
    {
        using (File.Create(Path.Combine(_directory, RestoreMarkerName)))
        {
        }

        Posix.SyncDirectory(_directory);
        DisposeStore();
        ClearDirectory(_directory);

        // FASTER deletes the segments below a checkpoint's begin address on a background task after the checkpoint,
        // by name: a late deletion by the old store must not hit the new store's segments, so they get new names.
        _generation++;
        (_settings, _device, _store) = CreateStore(_directory, _options, _generation);
        _session = _store.For(new KvFunctions()).NewSession<KvFunctions>();
        _storeOpen = true;
        _keys.Clear();
        _leases.Clear();
        _events.Clear();
        _eventsHead = 0;
        _liveBytes = 0;
        _durableUntil = _store.Log.TailAddress;
        (AppliedIndex, Revision, _historyFloor) = (0, 0, 0);
        _failure = null;
    }

    // Makes the loaded state durable, then removes the mark.
    private void EndReplace(long applied, long revision)
    {
        (AppliedIndex, Revision, _historyFloor) = (applied, revision, revision);
        Checkpoint();
        File.Delete(Path.Combine(_directory, RestoreMarkerName));
        Posix.SyncDirectory(_directory);
    }

    private void DisposeStore()
    {
        if (_storeOpen)
        {
            _storeOpen = false;
            _session.Dispose();
            _store.Dispose();
            _settings.Dispose();
            _device.Dispose();
        }
    }

    // Reads a whole snapshot, checking everything; with load, also fills the (fresh, empty) store, key set and leases.
    private (long Applied, long Revision) ReadSnapshot(ref KvSnapshotReader reader, bool load, long? expectedAppliedIndex)
    {
        var header = reader.Take(KvSnapshotFormat.HeaderBytes, $"a {KvSnapshotFormat.HeaderBytes}-byte snapshot header");
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != KvSnapshotFormat.Magic || BinaryPrimitives.ReadUInt32LittleEndian(header[4..]) != KvSnapshotFormat.Format)
        {
            throw reader.Corruption(0, $"a key-value snapshot: magic \"KVSN\" and format {KvSnapshotFormat.Format}");
        }

        var headerCrc = Crc32.HashToUInt32(header[..36]);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header[36..]) != headerCrc)
        {
            throw reader.Corruption(36, $"header checksum 0x{headerCrc:x8}, found 0x{BinaryPrimitives.ReadUInt32LittleEndian(header[36..]):x8}");
        }

        var applied = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
        var revision = BinaryPrimitives.ReadInt64LittleEndian(header[16..]);
        var keyCount = BinaryPrimitives.ReadInt64LittleEndian(header[24..]);
        var leaseCount = BinaryPrimitives.ReadUInt32LittleEndian(header[32..]);
        if (applied < 0 || revision < 0 || keyCount < 0 || leaseCount > KvSnapshotFormat.MaxLeases)
        {
            throw reader.Corruption(8,
                $"a non-negative applied index, revision and key count, and at most {KvSnapshotFormat.MaxLeases} leases; found {applied}, {revision}, {keyCount}, {leaseCount}");
        }

        if (expectedAppliedIndex is { } expected && applied != expected)
        {
            throw reader.Corruption(8, $"a snapshot at applied index {expected}, as its Raft metadata says; found {applied}");
        }

        // The lease table.
        var leases = load ? _leases : new Dictionary<long, LeaseState>();
        var crc = new Crc32();
        for (var i = 0; i < leaseCount; i++)
        {
            var at = reader.Position;
            var lease = reader.Take(KvSnapshotFormat.LeaseBytes, $"lease {i + 1} of {leaseCount}");
            crc.Append(lease);
            var id = BinaryPrimitives.ReadInt64LittleEndian(lease);
            var ttl = BinaryPrimitives.ReadInt64LittleEndian(lease[8..]);
            if (id < 1 || ttl < 1 || !leases.TryAdd(id, new LeaseState(ttl)))
            {
                throw reader.Corruption(at, $"a lease with a positive, unique id and a positive TTL; found id {id}, TTL {ttl}");
            }
        }

        var tableEnd = reader.Position;
        var tableCrc = BinaryPrimitives.ReadUInt32LittleEndian(reader.Take(4, "the lease table's checksum"));
        if (tableCrc != crc.GetCurrentHashAsUInt32())
        {
            throw reader.Corruption(tableEnd, $"lease table checksum 0x{crc.GetCurrentHashAsUInt32():x8}, found 0x{tableCrc:x8}");
        }

        // The records, block by block, keys strictly ascending.
        var previous = new byte[64];
        var previousLength = -1;
        var records = 0L;
        while (true)
        {
            var blockAt = reader.Position;
            var blockHeader = reader.Take(KvSnapshotFormat.BlockHeaderBytes, "a block header (the snapshot ends with an empty block)");
            var storedCrc = BinaryPrimitives.ReadUInt32LittleEndian(blockHeader);
            var length = BinaryPrimitives.ReadUInt32LittleEndian(blockHeader[4..]);
            var count = BinaryPrimitives.ReadUInt32LittleEndian(blockHeader[8..]);
            if (length > KvSnapshotFormat.MaxBlockPayloadBytes)
            {
                throw reader.Corruption(blockAt + 4, $"a block payload of at most {KvSnapshotFormat.MaxBlockPayloadBytes} bytes; found {length}");
            }

            crc.Reset();
            crc.Append(blockHeader[4..]);
            var payload = reader.Take((int)length, $"a block of {length} bytes");
            crc.Append(payload);
            if (crc.GetCurrentHashAsUInt32() != storedCrc)
            {
                throw reader.Corruption(blockAt, $"block checksum 0x{crc.GetCurrentHashAsUInt32():x8}, found 0x{storedCrc:x8}");
            }

            if (count == 0)
            {
                if (length != 0)
                {
                    throw reader.Corruption(blockAt + 4, $"an empty end block; found one of {length} bytes and no record");
                }

                break;
            }

            var inBlock = 0u;
            var at = 0;
            while (at < payload.Length)
            {
                var recordAt = blockAt + KvSnapshotFormat.BlockHeaderBytes + at;
                if (payload.Length - at < KvSnapshotFormat.RecordHeaderBytes)
                {
                    throw reader.Corruption(recordAt, $"a record header of {KvSnapshotFormat.RecordHeaderBytes} bytes; the block has {payload.Length - at} left");
                }

                var keyLength = BinaryPrimitives.ReadUInt32LittleEndian(payload[at..]);
                var valueLength = BinaryPrimitives.ReadUInt32LittleEndian(payload[(at + 4)..]);
                var room = payload.Length - at - KvSnapshotFormat.RecordHeaderBytes - StoredValue.HeaderBytes;
                if (keyLength < 1 || (long)keyLength + valueLength > room)
                {
                    throw reader.Corruption(recordAt, $"a key of at least 1 byte and a value that fit the block ({room} bytes left); found {keyLength} and {valueLength}");
                }

                var key = payload.Slice(at + KvSnapshotFormat.RecordHeaderBytes, (int)keyLength);
                var stored = payload.Slice(at + KvSnapshotFormat.RecordHeaderBytes + (int)keyLength, StoredValue.HeaderBytes + (int)valueLength);
                if (previousLength >= 0 && key.SequenceCompareTo(previous.AsSpan(0, previousLength)) <= 0)
                {
                    throw reader.Corruption(recordAt, $"keys in ascending byte order; key {Convert.ToHexString(key)} follows {Convert.ToHexString(previous.AsSpan(0, previousLength))}");
                }

                var value = StoredValue.Read(stored, withValue: false);
                if (!value.IsConsistent(revision) || (value.Lease != 0 && !leases.ContainsKey(value.Lease)))
                {
                    throw reader.Corruption(recordAt,
                        $"revisions consistent with revision {revision} and a lease in the lease table; key {Convert.ToHexString(key)} has create {value.CreateRevision}, mod {value.ModRevision}, version {value.Version}, lease {value.Lease}");
                }

                if (load)
                {
                    Load(key, stored, value.Lease);
                }

                if (previous.Length < key.Length)
                {
                    previous = new byte[Math.Max(key.Length, previous.Length * 2)];
                }

                key.CopyTo(previous);
                previousLength = key.Length;
                at += KvSnapshotFormat.RecordHeaderBytes + stored.Length + key.Length;
                inBlock++;
            }

            if (inBlock != count)
            {
                throw reader.Corruption(blockAt + 8, $"{count} records in the block, as its header says; found {inBlock}");
            }

            records += count;
        }

        if (records != keyCount)
        {
            throw reader.Corruption(24, $"{keyCount} keys, as the header says; the snapshot holds {records}");
        }

        if (!reader.AtEnd)
        {
            throw reader.Corruption(reader.Position, "the end of the snapshot after its end block");
        }

        return (applied, revision);
    }

    private void Load(ReadOnlySpan<byte> key, ReadOnlySpan<byte> stored, long lease)
    {
        if (_session.Upsert(key, stored).IsPending)
        {
            _session.CompletePending(wait: true);
        }

        var keyBytes = key.ToArray();
        _keys.Add(keyBytes);
        _liveBytes += StoredValue.RecordBytes(key.Length, stored.Length);
        if (lease != 0)
        {
            _leases[lease].Keys.Add(keyBytes);
        }
    }

    private static (FasterKVSettings<SpanByte, SpanByte> Settings, IDevice Device, FasterKV<SpanByte, SpanByte> Store) CreateStore(
        string directory, KvStateMachineOptions options, int generation)
    {
        var device = Devices.CreateLogDevice(Path.Combine(directory, LogBaseName(generation)));
        var settings = new FasterKVSettings<SpanByte, SpanByte>
        {
            LogDevice = device,
            CheckpointDir = Path.Combine(directory, CheckpointDirectoryName),
            IndexSize = options.IndexSizeBytes,
            PageSize = 1L << options.PageSizeBits,
            MemorySize = 1L << options.MemorySizeBits,
            SegmentSize = 1L << options.SegmentSizeBits,
            RemoveOutdatedCheckpoints = true,
        };
        try
        {
            return (settings, device, new FasterKV<SpanByte, SpanByte>(settings));
        }
        catch
        {
            settings.Dispose();
            device.Dispose();
            throw;
        }
    }

    private static string LogBaseName(int generation) => generation == 0 ? LogFileBaseName : $"hlog-{generation}.log";

    // The generation of the log files in the directory: the highest found (0 when there are none).
    private static int LogGeneration(string directory) =>
        Directory.EnumerateFiles(directory, "hlog*.log.*")
            .Select(file => Path.GetFileName(file))
            .Select(name => name.StartsWith("hlog-", StringComparison.Ordinal) && int.TryParse(name.AsSpan(5, name.IndexOf(".log.", StringComparison.Ordinal) - 5), out var generation) ? generation : 0)
            .DefaultIfEmpty(0)
            .Max();

    // Deletes everything in the directory but the restore mark, durably.
    private static void ClearDirectory(string directory)
    {
        foreach (var file in Directory.GetFiles(directory))
        {
            if (Path.GetFileName(file) != RestoreMarkerName)
            {
                File.Delete(file);
            }
        }

        foreach (var subdirectory in Directory.GetDirectories(directory))
        {
            try
            {
                Directory.Delete(subdirectory, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
                // FASTER removed an outdated checkpoint meanwhile.
            }
        }

        Posix.SyncDirectory(directory);
    }
}
