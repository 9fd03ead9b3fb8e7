namespace Kuorum.Raft;

/// <summary>What a snapshot covers: every entry up to <see cref="Index"/>, and the membership at that point.</summary>
public sealed record SnapshotMetadata(long Index, long Term, Membership Membership)
{
    /// <inheritdoc />
    public override string ToString() => $"snapshot {Index}/{Term} {Membership}";
}

/// <summary>
/// The bytes of a snapshot, read by the leader in chunks when a follower needs them. Implementations must
/// return the same bytes for the same offset for as long as the core holds the reader.
/// </summary>
public interface ISnapshotReader
{
    /// <summary>Total length in bytes.</summary>
    long Length { get; }

    /// <summary>Copies bytes starting at <paramref name="offset"/> into <paramref name="destination"/>; returns how many.</summary>
    int Read(long offset, Span<byte> destination);
}

/// <summary>A snapshot held in memory.</summary>
public sealed class ByteArraySnapshotReader(ReadOnlyMemory<byte> bytes) : ISnapshotReader
{
    /// <summary>The snapshot's bytes.</summary>
    public ReadOnlyMemory<byte> Bytes { get; } = bytes;

    /// <inheritdoc />
    public long Length => Bytes.Length;

    /// <inheritdoc />
    public int Read(long offset, Span<byte> destination)
    {
        if (offset < 0 || offset > Bytes.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"offset must be within 0..{Bytes.Length}");
        }

        var count = (int)Math.Min(destination.Length, Bytes.Length - offset);
        Bytes.Span.Slice((int)offset, count).CopyTo(destination);
        return count;
    }
}

/// <summary>A snapshot received from the leader that the application must install.</summary>
public sealed record ReceivedSnapshot(SnapshotMetadata Metadata, ReadOnlyMemory<byte> Data);
