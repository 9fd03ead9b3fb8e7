using Kuorum.Raft;

namespace Kuorum.Simulation.Simulation;

/// <summary>
/// A node's durable storage in the simulation: what survives a crash. Writes land here only when the
/// simulated fsync completes; anything the node had not yet persisted is lost with it.
/// </summary>
public sealed class SimDisk
{
    public HardState HardState { get; set; } = HardState.Initial;

    /// <summary>
    /// A hard state written without a sync (only its commit index moved, <see cref="Ready.MustSync"/> false): it becomes
    /// durable with the next synced write, and a crash before that loses it, as in the agent's journal.
    /// </summary>
    public HardState? Unsynced { get; set; }

    public SnapshotMetadata Snapshot { get; private set; } = RaftStorageState.Empty.Snapshot;

    public byte[] SnapshotData { get; private set; } = [];

    public List<Entry> Entries { get; } = [];

    /// <summary>Nothing was ever made durable here.</summary>
    public bool IsEmpty => HardState == HardState.Initial && Entries.Count == 0 && Snapshot.Index == 0;

    public long LastIndex => Entries.Count == 0 ? Snapshot.Index : Entries[^1].Index;

    public Entry? EntryAt(long index) =>
        index > Snapshot.Index && index <= LastIndex ? Entries[(int)(index - Snapshot.Index - 1)] : null;

    public long? TermAt(long index) => index == Snapshot.Index ? Snapshot.Term : EntryAt(index)?.Term;

    /// <summary>Replaces entries from the first new one's index on.</summary>
    public void Append(IReadOnlyList<Entry> entries)
    {
        if (entries.Count == 0)
        {
            return;
        }

        var first = entries[0].Index;
        if (first > LastIndex + 1 || first <= Snapshot.Index)
        {
            throw new InvalidOperationException($"disk append at {first} leaves a gap or overwrites the snapshot (last {LastIndex}, snapshot {Snapshot.Index})");
        }

        Entries.RemoveRange((int)(first - Snapshot.Index - 1), (int)(LastIndex - first + 1));
        Entries.AddRange(entries);
    }

    /// <summary>A snapshot received from the leader: it replaces the whole log.</summary>
    public void InstallSnapshot(SnapshotMetadata snapshot, byte[] data)
    {
        Entries.Clear();
        Snapshot = snapshot;
        SnapshotData = data;
    }

    /// <summary>A snapshot the node took itself: entries up to it are dropped.</summary>
    public void Compact(SnapshotMetadata snapshot, byte[] data)
    {
        Entries.RemoveRange(0, (int)(snapshot.Index - Snapshot.Index));
        Snapshot = snapshot;
        SnapshotData = data;
    }

    public RaftStorageState Load() =>
        new(HardState, Snapshot, Snapshot.Index > 0 ? new ByteArraySnapshotReader(SnapshotData) : null, Entries.ToList(), Snapshot.Index);
}
