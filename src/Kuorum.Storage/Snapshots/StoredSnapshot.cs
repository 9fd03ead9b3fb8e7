using Kuorum.Raft;

namespace Kuorum.Storage.Snapshots;

/// <summary>A snapshot on disk: its metadata, and its data read in chunks (the leader's side of InstallSnapshot).</summary>
public sealed class StoredSnapshot(SnapshotMetadata metadata, string file, long dataOffset, long dataLength) : ISnapshotReader
{
    /// <summary>What the snapshot covers.</summary>
    public SnapshotMetadata Metadata { get; } = metadata;

    /// <summary>The snapshot's file.</summary>
    public string File { get; } = file;

    /// <summary>Offset of the data in <see cref="File"/>.</summary>
    public long DataOffset { get; } = dataOffset;

    /// <inheritdoc />
    public long Length { get; } = dataLength;

    /// <inheritdoc />
    public int Read(long offset, Span<byte> destination)
    {
        if (offset < 0 || offset > Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"offset must be within 0..{Length}");
        }

        var count = (int)Math.Min(destination.Length, Length - offset);
        using var handle = System.IO.File.OpenHandle(File, FileMode.Open, FileAccess.Read);
        var total = 0;
        while (total < count)
        {
            var read = RandomAccess.Read(handle, destination[total..count], DataOffset + offset + total);
            if (read == 0)
            {
                throw new StorageCorruptionException(File, DataOffset + offset + total, $"{count - total} more snapshot bytes");
            }

            total += read;
        }

        return total;
    }

    /// <summary>A read-only stream of the file positioned at the data's start (the file's checksum follows the data).</summary>
    public FileStream OpenData()
    {
        var stream = new FileStream(File, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        stream.Position = DataOffset;
        return stream;
    }

    /// <summary>The whole data, for restoring a state machine.</summary>
    public byte[] ReadAll()
    {
        var data = new byte[Length];
        Read(0, data);
        return data;
    }
}
