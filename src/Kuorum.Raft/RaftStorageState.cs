namespace Kuorum.Raft;

/// <summary>What a node's durable storage held when it starts: the input to <see cref="RaftNode(RaftConfig, RaftStorageState)"/>.</summary>
/// <param name="HardState">Term, vote and commit as last persisted.</param>
/// <param name="Snapshot">The latest snapshot's metadata (index 0 and empty membership when there is none).</param>
/// <param name="SnapshotData">The latest snapshot's bytes; required when <paramref name="Snapshot"/> has an index above 0.</param>
/// <param name="Entries">Persisted entries after the snapshot, in order.</param>
/// <param name="Applied">Index the state machine has applied (at least the snapshot's index).</param>
public sealed record RaftStorageState(
    HardState HardState,
    SnapshotMetadata Snapshot,
    ISnapshotReader? SnapshotData,
    IReadOnlyList<Entry> Entries,
    long Applied)
{
    /// <summary>Nothing persisted: a node that joins an existing cluster and learns everything from its leader.</summary>
    public static RaftStorageState Empty { get; } =
        new(HardState.Initial, new SnapshotMetadata(0, 0, Membership.Empty), null, [], 0);
}
