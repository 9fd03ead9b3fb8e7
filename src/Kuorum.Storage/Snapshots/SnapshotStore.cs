using System.Buffers.Binary;
using System.IO.Hashing;
using Kuorum.Raft;

namespace Kuorum.Storage.Snapshots;

/// <summary>
/// Snapshot files: what the state machine hands over at an applied index, kept durably with its metadata and read
/// back in chunks for InstallSnapshot. A file is <c>snap-{index}-{term}.snap</c>:
/// <c>[magic "KSNP"][version 1][index][term][voter count][learner count][ids…][data length][data…][crc32]</c>,
/// the checksum covering everything before it. Files are written under a temporary name, synced, then renamed,
/// so a crash never leaves a half-written snapshot under a real name. The newest valid snapshot is kept, with one
/// older one.
/// </summary>
public sealed class SnapshotStore
{
    private const uint Magic = 0x504E534B; // "KSNP"
    private const int Version = 1;
    private const string Extension = ".snap";

    private readonly string _directory;

    /// <summary>Opens the store in <paramref name="directory"/>, creating it if needed, and removes leftovers of interrupted saves.</summary>
    public SnapshotStore(string directory)
    {
        _directory = directory;
        Directory.CreateDirectory(directory);
        foreach (var leftover in Directory.GetFiles(directory, "*.tmp"))
        {
            File.Delete(leftover);
        }
    }

    /// <summary>
    /// The newest snapshot, checked end to end, or null when there is none. A snapshot file that fails its checks
    /// throws <see cref="StorageCorruptionException"/> naming it: an older one is not silently used instead.
    /// </summary>
    public StoredSnapshot? Latest()
    {
        var newest = Files().FirstOrDefault();
        return newest is null ? null : Verify(newest);
    }

    /// <summary>
    /// The snapshot of exactly <paramref name="metadata"/>, checked end to end, or null when there is no file for its
    /// index and term. A file that fails its checks, or whose header disagrees with <paramref name="metadata"/>, throws
    /// <see cref="StorageCorruptionException"/> naming it.
    /// </summary>
    public StoredSnapshot? Find(SnapshotMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var file = PathOf(metadata);
        if (!File.Exists(file))
        {
            return null;
        }

        var snapshot = Verify(file);
        if (snapshot.Metadata.Index != metadata.Index || snapshot.Metadata.Term != metadata.Term || !snapshot.Metadata.Membership.Equals(metadata.Membership))
        {
            throw new StorageCorruptionException(file, 8, $"the snapshot's header to say {metadata}, as its name and the journal do; it says {snapshot.Metadata}");
        }

        return snapshot;
    }

    /// <summary>
    /// Deletes every snapshot newer than <paramref name="metadata"/> (by index, then term; all of them for index 0):
    /// leftovers of a snapshot or an install that a crash interrupted before the journal recorded it.
    /// </summary>
    public void DeleteNewerThan(SnapshotMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var keep = Path.GetFileName(PathOf(metadata));
        var deleted = false;
        foreach (var file in Files())
        {
            if (metadata.Index == 0 || StringComparer.Ordinal.Compare(Path.GetFileName(file), keep) > 0)
            {
                File.Delete(file);
                deleted = true;
            }
        }

        if (deleted)
        {
            Posix.SyncDirectory(_directory);
        }
    }

    /// <summary>
    /// Writes a snapshot durably, its data streamed by <paramref name="writeData"/> into the file (never held whole in
    /// memory), and returns it; keeps one older snapshot and deletes the rest. The checksum is computed by reading the
    /// data back once it is written (from the page cache, as a rule).
    /// </summary>
    public async Task<StoredSnapshot> SaveAsync(SnapshotMetadata metadata, Func<Stream, CancellationToken, Task> writeData, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(writeData);
        var name = PathOf(metadata);
        var temporary = name + ".tmp";
        var header = EncodeHeader(metadata, 0);
        long dataLength;
        await using (var file = new FileStream(temporary, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.Asynchronous))
        {
            await file.WriteAsync(header, cancellationToken).ConfigureAwait(false);
            await writeData(file, cancellationToken).ConfigureAwait(false);
            dataLength = file.Position - header.Length;
            BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(header.Length - 8), dataLength);
            file.Position = 0;
            await file.WriteAsync(header, cancellationToken).ConfigureAwait(false);
            var crc = new Crc32();
            crc.Append(header);
            var buffer = new byte[1 << 16];
            for (var remaining = dataLength; remaining > 0;)
            {
                var read = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new IOException($"{temporary} ended {remaining} bytes short of the {dataLength} bytes just written");
                }

                crc.Append(buffer.AsSpan(0, read));
                remaining -= read;
            }

            var trailer = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(trailer, crc.GetCurrentHashAsUInt32());
            await file.WriteAsync(trailer, cancellationToken).ConfigureAwait(false);
            file.Flush(flushToDisk: true);
        }

        Commit(temporary, name);
        return new StoredSnapshot(metadata, name, header.Length, dataLength);
    }

    /// <summary>Writes a snapshot durably and returns it; keeps one older snapshot and deletes the rest.</summary>
    public async Task<StoredSnapshot> SaveAsync(SnapshotMetadata metadata, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var name = PathOf(metadata);
        var temporary = name + ".tmp";
        var header = EncodeHeader(metadata, data.Length);
        var crc = new Crc32();
        crc.Append(header);
        crc.Append(data.Span);
        var trailer = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, crc.GetCurrentHashAsUInt32());
        await using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
        {
            await file.WriteAsync(header, cancellationToken).ConfigureAwait(false);
            await file.WriteAsync(data, cancellationToken).ConfigureAwait(false);
            await file.WriteAsync(trailer, cancellationToken).ConfigureAwait(false);
            file.Flush(flushToDisk: true);
        }

        Commit(temporary, name);
        return new StoredSnapshot(metadata, name, header.Length, data.Length);
    }

    // Renames a synced temporary file to its real name, durably, and keeps one older snapshot.
    private void Commit(string temporary, string name)
    {
        File.Move(temporary, name, overwrite: true);
        Posix.SyncDirectory(_directory);
        foreach (var old in Files().Skip(2))
        {
            File.Delete(old);
        }
    }

    private string PathOf(SnapshotMetadata metadata) => Path.Combine(_directory, $"snap-{metadata.Index:D20}-{metadata.Term:D20}{Extension}");

    // Newest first, by index then term (both zero-padded in the name).
    private IEnumerable<string> Files() =>
        Directory.GetFiles(_directory, "snap-*" + Extension).OrderByDescending(f => Path.GetFileName(f), StringComparer.Ordinal);

    private static byte[] EncodeHeader(SnapshotMetadata metadata, long dataLength)
    {
        var ids = metadata.Membership.Voters.Concat(metadata.Membership.Learners).ToList();
        var header = new byte[4 + 4 + 8 + 8 + 4 + 4 + (8 * ids.Count) + 8];
        var span = header.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(span[4..], Version);
        BinaryPrimitives.WriteInt64LittleEndian(span[8..], metadata.Index);
        BinaryPrimitives.WriteInt64LittleEndian(span[16..], metadata.Term);
        BinaryPrimitives.WriteInt32LittleEndian(span[24..], metadata.Membership.Voters.Count);
        BinaryPrimitives.WriteInt32LittleEndian(span[28..], metadata.Membership.Learners.Count);
        for (var i = 0; i < ids.Count; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(span[(32 + (8 * i))..], ids[i]);
        }

        BinaryPrimitives.WriteInt64LittleEndian(span[(32 + (8 * ids.Count))..], dataLength);
        return header;
    }

    private static StoredSnapshot Verify(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var length = stream.Length;
        var fixedHeader = new byte[32];
        if (length < 32 + 8 + 4 || stream.ReadAtLeast(fixedHeader, 32, throwOnEndOfStream: false) < 32)
        {
            throw new StorageCorruptionException(file, 0, $"a snapshot header of at least 44 bytes, the file has {length}");
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(fixedHeader) != Magic || BinaryPrimitives.ReadInt32LittleEndian(fixedHeader.AsSpan(4)) != Version)
        {
            throw new StorageCorruptionException(file, 0, $"magic \"KSNP\" and version {Version}");
        }

        var voters = BinaryPrimitives.ReadInt32LittleEndian(fixedHeader.AsSpan(24));
        var learners = BinaryPrimitives.ReadInt32LittleEndian(fixedHeader.AsSpan(28));
        var headerLength = 32 + (8L * ((long)voters + learners)) + 8;
        if (voters < 0 || learners < 0 || headerLength + 4 > length)
        {
            throw new StorageCorruptionException(file, 24, $"member counts that fit the file ({length} bytes), found {voters} voters and {learners} learners");
        }

        var rest = new byte[headerLength - 32];
        stream.ReadExactly(rest);
        var dataLength = BinaryPrimitives.ReadInt64LittleEndian(rest.AsSpan(rest.Length - 8));
        if (dataLength < 0 || headerLength + dataLength + 4 != length)
        {
            throw new StorageCorruptionException(file, headerLength - 8, $"a data length of {length - headerLength - 4} bytes (the file's size less header and checksum), found {dataLength}");
        }

        var crc = new Crc32();
        crc.Append(fixedHeader);
        crc.Append(rest);
        var buffer = new byte[1 << 16];
        for (var remaining = dataLength; remaining > 0;)
        {
            var read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, remaining));
            crc.Append(buffer.AsSpan(0, read));
            remaining -= read;
        }

        var trailer = new byte[4];
        stream.ReadExactly(trailer);
        var computed = crc.GetCurrentHashAsUInt32();
        var stored = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
        if (computed != stored)
        {
            throw new StorageCorruptionException(file, length - 4, $"checksum 0x{computed:x8} over the snapshot, found 0x{stored:x8}");
        }

        var ids = Enumerable.Range(0, voters + learners).Select(i => BinaryPrimitives.ReadInt64LittleEndian(rest.AsSpan(8 * i))).ToArray();
        Membership membership;
        try
        {
            membership = new Membership(ids[..voters], ids[voters..]);
        }
        catch (ArgumentException e)
        {
            throw new StorageCorruptionException(file, 32, $"a valid membership ({e.Message})");
        }

        var metadata = new SnapshotMetadata(
            BinaryPrimitives.ReadInt64LittleEndian(fixedHeader.AsSpan(8)),
            BinaryPrimitives.ReadInt64LittleEndian(fixedHeader.AsSpan(16)),
            membership);
        return new StoredSnapshot(metadata, file, headerLength, dataLength);
    }
}
