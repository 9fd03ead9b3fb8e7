namespace Kuorum.Client;

/// <summary>The keys under a prefix, in key order.</summary>
public sealed class RangeResult
{
    internal RangeResult(IReadOnlyList<KeyValueEntry> entries, bool more, long revision)
    {
        Entries = entries;
        More = more;
        Revision = revision;
    }

    /// <summary>The matching keys, in key order.</summary>
    public IReadOnlyList<KeyValueEntry> Entries { get; }

    /// <summary>True when more keys match than were returned.</summary>
    public bool More { get; }

    /// <summary>The store's revision when the range was read: watch from <c>Revision + 1</c> to follow it.</summary>
    public long Revision { get; }
}
