namespace Kuorum.Raft;

/// <summary>
/// The in-memory log of one node since its last snapshot, with the indexes that say how far it is durable,
/// committed and applied, and the membership each configuration entry implies.
/// Invariant: snapshot ≤ applied ≤ committed; persisted ≤ last.
/// </summary>
internal sealed class RaftLog
{
    private readonly List<Entry> _entries = [];

    // Membership entries still in the log, in index order; the latest one (or the snapshot's) is in force.
    private readonly List<(long Index, Membership Membership)> _memberships = [];

    public RaftLog(SnapshotMetadata snapshot)
    {
        Snapshot = snapshot;
        Committed = Applied = Persisted = snapshot.Index;
    }

    public SnapshotMetadata Snapshot { get; private set; }

    public long FirstIndex => Snapshot.Index + 1;

    public long LastIndex => Snapshot.Index + _entries.Count;

    public long LastTerm => _entries.Count == 0 ? Snapshot.Term : _entries[^1].Term;

    public long Committed { get; private set; }

    public long Applied { get; private set; }

    /// <summary>Highest index known durable on this node.</summary>
    public long Persisted { get; private set; }

    public Membership Membership => _memberships.Count == 0 ? Snapshot.Membership : _memberships[^1].Membership;

    /// <summary>Index of the newest membership entry in the log, or the snapshot's index.</summary>
    public long MembershipIndex => _memberships.Count == 0 ? Snapshot.Index : _memberships[^1].Index;

    /// <summary>Term of the entry at <paramref name="index"/>, or null when compacted or beyond the end.</summary>
    public long? Term(long index)
    {
        if (index == Snapshot.Index)
        {
            return Snapshot.Term;
        }

        if (index < FirstIndex || index > LastIndex)
        {
            return null;
        }

        return _entries[(int)(index - FirstIndex)].Term;
    }

    public Entry EntryAt(long index) => _entries[(int)(index - FirstIndex)];

    public bool MatchTerm(long index, long term) => Term(index) == term;

    /// <summary>Raft's up-to-date rule (§5.4.1): a later last term wins, then a longer log.</summary>
    public bool IsUpToDate(long lastIndex, long lastTerm) =>
        lastTerm > LastTerm || (lastTerm == LastTerm && lastIndex >= LastIndex);

    /// <summary>Appends entries a leader creates.</summary>
    public void AppendNew(Entry entry)
    {
        if (entry.Index != LastIndex + 1)
        {
            throw new InvalidOperationException($"entry {entry.Index} does not follow last index {LastIndex}");
        }

        _entries.Add(entry);
        TrackMembership(entry);
    }

    /// <summary>
    /// Appends entries received after (<paramref name="prevIndex"/>, matching term), truncating the first
    /// conflicting suffix. Returns the index of the last new entry.
    /// </summary>
    public long AppendFromLeader(long prevIndex, IReadOnlyList<Entry> entries)
    {
        var i = 0;
        for (; i < entries.Count; i++)
        {
            var e = entries[i];
            if (e.Index <= Snapshot.Index)
            {
                continue;
            }

            var term = Term(e.Index);
            if (term is null)
            {
                break;
            }

            if (term != e.Term)
            {
                TruncateFrom(e.Index);
                break;
            }
        }

        for (; i < entries.Count; i++)
        {
            if (entries[i].Index > Snapshot.Index)
            {
                AppendNew(entries[i]);
            }
        }

        return prevIndex + entries.Count;
    }

    private void TruncateFrom(long index)
    {
        if (index <= Committed)
        {
            throw new InvalidOperationException(
                $"raft safety violated: truncating committed entry {index} (commit {Committed})");
        }

        _entries.RemoveRange((int)(index - FirstIndex), (int)(LastIndex - index + 1));
        _memberships.RemoveAll(m => m.Index >= index);
        Persisted = Math.Min(Persisted, index - 1);
    }

    private void TrackMembership(Entry entry)
    {
        if (entry.Type == EntryType.Bootstrap)
        {
            if (entry.Index == 1 && Membership.Voters.IsEmpty && Membership.DecodeBootstrap(entry.Data.Span) is { } founders)
            {
                _memberships.Add((entry.Index, founders));
            }

            return;
        }

        if (entry.Type != EntryType.ConfChange)
        {
            return;
        }

        // A leader validated the change against this same membership; an entry that still does not decode or
        // fit leaves membership unchanged, which every node decides the same way from the same log.
        try
        {
            var change = ConfChange.Decode(entry.Data.Span);
            if (Membership.Validate(change) is null)
            {
                _memberships.Add((entry.Index, Membership.Apply(change)));
            }
        }
        catch (FormatException)
        {
        }
    }

    /// <summary>Entries in [lo, hi], stopping once <paramref name="maxBytes"/> is reached (at least one entry).</summary>
    public List<Entry> Slice(long lo, long hi, long maxBytes)
    {
        var result = new List<Entry>();
        long bytes = 0;
        for (var i = lo; i <= hi; i++)
        {
            var e = EntryAt(i);
            bytes += e.SizeBytes;
            if (result.Count > 0 && bytes > maxBytes)
            {
                break;
            }

            result.Add(e);
        }

        return result;
    }

    /// <summary>Largest index at or below <paramref name="index"/> whose term is at most <paramref name="term"/> (fast back-off).</summary>
    public long FindConflictByTerm(long index, long term)
    {
        index = Math.Min(index, LastIndex);
        while (index > Snapshot.Index)
        {
            if (Term(index) <= term)
            {
                return index;
            }

            index--;
        }

        return index;
    }

    public void CommitTo(long index)
    {
        if (index > Committed)
        {
            if (index > LastIndex)
            {
                throw new InvalidOperationException($"commit {index} is beyond last index {LastIndex}");
            }

            Committed = index;
        }
    }

    public void AppliedTo(long index)
    {
        if (index > Committed || index < Applied)
        {
            throw new InvalidOperationException($"applied {index} must be in {Applied}..{Committed}");
        }

        Applied = index;
    }

    public void PersistedTo(long index) => Persisted = Math.Max(Persisted, Math.Min(index, LastIndex));

    /// <summary>Entries not yet durable.</summary>
    public List<Entry> Unpersisted() => Persisted >= LastIndex ? [] : _entries.GetRange((int)(Persisted + 1 - FirstIndex), (int)(LastIndex - Persisted));

    /// <summary>Committed entries that are still to apply, up to <paramref name="maxBytes"/> (at least one).</summary>
    public List<Entry> NextToApply(long maxBytes) =>
        Applied < Committed ? Slice(Applied + 1, Committed, maxBytes) : [];

    public bool HasNextToApply => Applied < Committed;

    /// <summary>Membership in force at <paramref name="index"/> (which must not be compacted).</summary>
    public Membership MembershipAt(long index)
    {
        var result = Snapshot.Membership;
        foreach (var (at, membership) in _memberships)
        {
            if (at > index)
            {
                break;
            }

            result = membership;
        }

        return result;
    }

    /// <summary>Drops entries up to <paramref name="index"/>, which must be applied, after the application snapshotted there.</summary>
    public SnapshotMetadata CompactTo(long index)
    {
        if (index <= Snapshot.Index || index > Applied)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"compaction index must be in {Snapshot.Index + 1}..{Applied} (above the last snapshot, at most applied)");
        }

        var metadata = new SnapshotMetadata(index, Term(index)!.Value, MembershipAt(index));
        _entries.RemoveRange(0, (int)(index - Snapshot.Index));
        _memberships.RemoveAll(m => m.Index <= index);
        Snapshot = metadata;
        return metadata;
    }

    /// <summary>Replaces the whole log with a snapshot received from the leader.</summary>
    public void Restore(SnapshotMetadata snapshot)
    {
        _entries.Clear();
        _memberships.Clear();
        Snapshot = snapshot;
        Committed = Applied = Persisted = snapshot.Index;
    }

    /// <summary>Loads entries read from durable storage on restart; they are persisted by definition.</summary>
    public void LoadPersisted(IReadOnlyList<Entry> entries, long commit)
    {
        foreach (var e in entries)
        {
            if (e.Index <= Snapshot.Index)
            {
                continue;
            }

            AppendNew(e);
        }

        Persisted = LastIndex;
        Committed = Math.Max(Snapshot.Index, Math.Min(commit, LastIndex));
    }
}
