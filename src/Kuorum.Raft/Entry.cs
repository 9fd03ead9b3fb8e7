namespace Kuorum.Raft;

/// <summary>What an entry carries: application data or a membership change.</summary>
public enum EntryType : byte
{
    /// <summary>Application data. A leader's first entry of its term is a Normal entry with empty data (the no-op).</summary>
    Normal = 0,

    /// <summary>An encoded <see cref="ConfChange"/>; it takes effect as soon as it is appended to a log.</summary>
    ConfChange = 1,

    /// <summary>
    /// The founding voters of a new cluster, all at once (see <see cref="Membership.EncodeBootstrap"/>); only ever the
    /// first entry of a log, so no node can see a partial founding membership.
    /// </summary>
    Bootstrap = 2,
}

/// <summary>One entry of the replicated log.</summary>
public sealed record Entry(long Index, long Term, EntryType Type, ReadOnlyMemory<byte> Data)
{
    /// <summary>Bytes an entry is accounted for in flow control and batching: its data plus a fixed header.</summary>
    public const int HeaderBytes = 24;

    /// <summary>True for the empty entry a new leader appends to commit entries of earlier terms.</summary>
    public bool IsNoop => Type == EntryType.Normal && Data.IsEmpty;

    /// <summary>Bytes accounted for this entry.</summary>
    public long SizeBytes => HeaderBytes + Data.Length;

    /// <inheritdoc />
    public bool Equals(Entry? other) =>
        other is not null && Index == other.Index && Term == other.Term && Type == other.Type
        && Data.Span.SequenceEqual(other.Data.Span);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Index, Term, Type, Data.Length);

    /// <inheritdoc />
    public override string ToString() => Type switch
    {
        EntryType.ConfChange => $"{Index}/{Term} {ConfChange.Decode(Data.Span)}",
        EntryType.Bootstrap => $"{Index}/{Term} bootstrap",
        _ => $"{Index}/{Term} {(IsNoop ? "noop" : $"{Data.Length}B")}",
    };
}
