namespace Kuorum.Raft.Tests.Harness;

/// <summary>
/// What a driver persists for one node: hard state, snapshot and log entries. It survives <see cref="TestNode.Crash"/>
/// and is what <see cref="TestNode.Restart"/> starts from. It rejects writes that no correct Ready could ask for.
/// </summary>
internal sealed class MemoryStorage
{
    private readonly List<Entry> _entries = [];

    public MemoryStorage(RaftStorageState state)
    {
        HardState = state.HardState;
        Snapshot = state.Snapshot;
        if (state.SnapshotData is { } reader)
        {
            SnapshotData = new byte[reader.Length];
            reader.Read(0, SnapshotData);
        }

        _entries.AddRange(state.Entries.Where(e => e.Index > Snapshot.Index));
    }

    public HardState HardState { get; private set; }

    public SnapshotMetadata Snapshot { get; private set; }

    public byte[] SnapshotData { get; private set; } = [];

    public IReadOnlyList<Entry> Entries => _entries;

    public long LastIndex => _entries.Count == 0 ? Snapshot.Index : _entries[^1].Index;

    public Entry? EntryAt(long index) =>
        index > Snapshot.Index && index <= LastIndex ? _entries[(int)(index - Snapshot.Index - 1)] : null;

    public long? TermAt(long index) => index == Snapshot.Index ? Snapshot.Term : EntryAt(index)?.Term;

    /// <summary>Step 1 of a Ready: snapshot, then entries (replacing from the first one's index), then hard state.</summary>
    public void Persist(Ready ready)
    {
        if (ready.Snapshot is { } snapshot)
        {
            // A snapshot from the leader replaces the whole log.
            Snapshot = snapshot.Metadata;
            SnapshotData = snapshot.Data.ToArray();
            _entries.Clear();
        }

        if (ready.Entries.Count > 0)
        {
            var first = ready.Entries[0].Index;
            if (first <= Snapshot.Index || first > LastIndex + 1)
            {
                throw new InvalidOperationException(
                    $"Ready.Entries start at {first}: that leaves a gap or overwrites the snapshot (last {LastIndex}, snapshot {Snapshot.Index})");
            }

            for (var i = 1; i < ready.Entries.Count; i++)
            {
                if (ready.Entries[i].Index != first + i)
                {
                    throw new InvalidOperationException($"Ready.Entries are not consecutive at {ready.Entries[i].Index}");
                }
            }

            _entries.RemoveRange((int)(first - Snapshot.Index - 1), (int)(LastIndex - first + 1));
            _entries.AddRange(ready.Entries);
        }

        if (ready.HardState is { } hard)
        {
            HardState = hard;
        }

        if (HardState.Commit > LastIndex)
        {
            throw new InvalidOperationException($"persisted commit {HardState.Commit} is beyond the persisted log (last {LastIndex})");
        }
    }

    /// <summary>The node snapshotted its state machine at <paramref name="snapshot"/>: drop the entries it covers.</summary>
    public void Compact(SnapshotMetadata snapshot, byte[] data)
    {
        _entries.RemoveAll(e => e.Index <= snapshot.Index);
        Snapshot = snapshot;
        SnapshotData = data;
    }

    public RaftStorageState Load(long applied) =>
        new(HardState, Snapshot, Snapshot.Index > 0 ? new ByteArraySnapshotReader(SnapshotData) : null, _entries.ToList(), applied);
}
