namespace Kuorum.Storage.Log;

/// <summary>Sizes of the FasterLog behind a <see cref="RaftJournal"/>.</summary>
public sealed class RaftJournalOptions
{
    /// <summary>log2 of the page size (default 4 MiB pages).</summary>
    public int PageSizeBits { get; init; } = 22;

    /// <summary>log2 of the in-memory buffer (default 64 MiB).</summary>
    public int MemorySizeBits { get; init; } = 26;

    /// <summary>log2 of a segment file's size (default 1 GiB).</summary>
    public int SegmentSizeBits { get; init; } = 30;

    /// <summary>Throws <see cref="ArgumentException"/> naming a setting out of bounds.</summary>
    public void Validate()
    {
        if (PageSizeBits is < 12 or > 30)
        {
            throw new ArgumentException($"journal setting {nameof(PageSizeBits)} must be in 12..30; got {PageSizeBits}", nameof(PageSizeBits));
        }

        if (MemorySizeBits < PageSizeBits + 1 || MemorySizeBits > 40)
        {
            throw new ArgumentException($"journal setting {nameof(MemorySizeBits)} must be in {PageSizeBits + 1}..40 (at least two pages); got {MemorySizeBits}", nameof(MemorySizeBits));
        }

        if (SegmentSizeBits < MemorySizeBits || SegmentSizeBits > 40)
        {
            throw new ArgumentException($"journal setting {nameof(SegmentSizeBits)} must be in {MemorySizeBits}..40 (at least the memory size); got {SegmentSizeBits}", nameof(SegmentSizeBits));
        }
    }
}
