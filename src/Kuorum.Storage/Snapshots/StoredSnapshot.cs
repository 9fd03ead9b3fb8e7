using Kuorum.Raft;

namespace Kuorum.Storage.Snapshots;

/// <summary>A snapshot on disk: its metadata, and its data read in chunks (the leader's side of InstallSnapshot).</summary>
public sealed class StoredSnapshot(SnapshotMetadata metadata, string file, long dataOffset, long dataLength) : ISnapshotReader
{
    /// <summary>What the snapshot covers.</summary>
    public SnapshotMetadata Metadata { get; } = metadata;

    /// <summary>The snapshot's file.</summary>
    public string File { get; } = file;

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
            var read = RandomAccess.Read(handle, destination[total..count], dataOffset + offset + total);
            if (read == 0)
            {
                throw new StorageCorruptionException(File, dataOffset + offset + total, $"{count - total} more snapshot bytes");
            }

            total += read;
        }

        return total;
    }

    /// <summary>The whole data, for restoring a state machine.</summary>
    public byte[] ReadAll()
    {
        var data = new byte[Length];
        Read(0, data);
        return data;
    }
}
