namespace Kuorum.Storage.StateMachine;

/// <summary>Limits and FASTER sizes of a <see cref="KvStateMachine"/>.</summary>
public sealed class KvStateMachineOptions
{
    // A record holds FASTER's 8-byte header, the key and the value each with a 4-byte length, and our 32-byte header.
    private const int RecordOverheadBytes = 64;

    /// <summary>Key and value limits.</summary>
    public KvLimits Limits { get; init; } = KvLimits.Default;

    /// <summary>Default <see cref="HistoryRevisions"/>.</summary>
    public const int DefaultHistoryRevisions = 10_000;

    /// <summary>
    /// How many of the latest revisions keep their events in memory for <see cref="KvStateMachine.EventsSince"/> (0: no
    /// history). The events hold their values, so the memory this costs is that of the latest puts.
    /// </summary>
    public int HistoryRevisions { get; init; } = DefaultHistoryRevisions;

    /// <summary>Bytes of FASTER's hash index (a power of two; 64-byte buckets of 7 entries). Default 16 MiB, ~1.8M keys before overflow buckets.</summary>
    public long IndexSizeBytes { get; init; } = 1L << 24;

    /// <summary>log2 of a log page (default 4 MiB); a page must hold the largest record the limits allow.</summary>
    public int PageSizeBits { get; init; } = 22;

    /// <summary>log2 of the log's in-memory part (default 256 MiB); older records live on disk and are read back on demand.</summary>
    public int MemorySizeBits { get; init; } = 28;

    /// <summary>
    /// log2 of a log segment file (default 64 MiB). Compaction frees disk space a whole segment at a time, so the log's
    /// files exceed its live part by up to a segment.
    /// </summary>
    public int SegmentSizeBits { get; init; } = 26;

    /// <summary>
    /// A checkpoint first compacts FASTER's log (copies its live records below the previous checkpoint to the tail, so
    /// the checkpoint can drop the segments below) once the log holds at least this many bytes and at least twice the
    /// live records' size. Default 64 MiB; 0 compacts whenever the log is twice its live part.
    /// </summary>
    public long LogCompactionMinBytes { get; init; } = 64L << 20;

    /// <summary>Throws <see cref="ArgumentException"/> naming a setting out of bounds.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Limits);
        Limits.Validate();
        if (HistoryRevisions is < 0 or > 10_000_000)
        {
            throw new ArgumentException($"state machine setting {nameof(HistoryRevisions)} must be in 0..10000000; got {HistoryRevisions}", nameof(HistoryRevisions));
        }

        if (IndexSizeBytes < 64 || IndexSizeBytes > 1L << 40 || (IndexSizeBytes & (IndexSizeBytes - 1)) != 0)
        {
            throw new ArgumentException($"state machine setting {nameof(IndexSizeBytes)} must be a power of two in 64..2^40; got {IndexSizeBytes}", nameof(IndexSizeBytes));
        }

        var largestRecord = (long)Limits.MaxKeyBytes + Limits.MaxValueBytes + RecordOverheadBytes;
        if (PageSizeBits is < 12 or > 30 || 1L << PageSizeBits < largestRecord)
        {
            throw new ArgumentException(
                $"state machine setting {nameof(PageSizeBits)} must be in 12..30 and a page must hold the largest record ({largestRecord} bytes with {nameof(KvLimits)}.{nameof(KvLimits.MaxKeyBytes)} and {nameof(KvLimits)}.{nameof(KvLimits.MaxValueBytes)}); got {PageSizeBits}",
                nameof(PageSizeBits));
        }

        if (MemorySizeBits < PageSizeBits + 2 || MemorySizeBits > 40)
        {
            throw new ArgumentException($"state machine setting {nameof(MemorySizeBits)} must be in {PageSizeBits + 2}..40 (at least four pages); got {MemorySizeBits}", nameof(MemorySizeBits));
        }

        if (LogCompactionMinBytes < 0)
        {
            throw new ArgumentException($"state machine setting {nameof(LogCompactionMinBytes)} must be at least 0; got {LogCompactionMinBytes}", nameof(LogCompactionMinBytes));
        }

        if (SegmentSizeBits < PageSizeBits || SegmentSizeBits > 40)
        {
            throw new ArgumentException($"state machine setting {nameof(SegmentSizeBits)} must be in {PageSizeBits}..40 (at least a page); got {SegmentSizeBits}", nameof(SegmentSizeBits));
        }
    }
}
