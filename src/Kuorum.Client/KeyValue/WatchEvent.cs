namespace Kuorum.Client;

/// <summary>One change to a watched key.</summary>
public sealed class WatchEvent
{
    internal WatchEvent(WatchEventType type, KeyValueEntry entry)
    {
        Type = type;
        Entry = entry;
    }

    /// <summary>Put or delete.</summary>
    public WatchEventType Type { get; }

    /// <summary>
    /// The key after the change; for a delete, the key with <see cref="KeyValueEntry.ModRevision"/> the deletion's
    /// revision.
    /// </summary>
    public KeyValueEntry Entry { get; }

    /// <summary>The changed key.</summary>
    public KuorumKey Key => Entry.Key;

    /// <summary>The revision of the change.</summary>
    public long Revision => Entry.ModRevision;

    /// <summary>Type, key and revision, for debugging.</summary>
    /// <returns>A short description.</returns>
    public override string ToString() => $"{Type} {Key}@{Revision}";
}
