namespace Kuorum.Raft;

/// <summary>A node's role.</summary>
public enum RaftRole
{
    /// <summary>Follows a leader, or waits for one.</summary>
    Follower,

    /// <summary>Asking for pre-votes before raising its term.</summary>
    PreCandidate,

    /// <summary>Asking for votes in a new term.</summary>
    Candidate,

    /// <summary>Leads its term.</summary>
    Leader,
}

/// <summary>Volatile state worth telling the application about; no need to persist it.</summary>
public readonly record struct SoftState(long LeaderId, RaftRole Role);

/// <summary>The answer to a read request: once the applied index reaches <see cref="Index"/>, a read of local state is linearizable.</summary>
public readonly record struct ReadState(long Index, long Context);

/// <summary>
/// The work a node hands to its driver, taken with <see cref="RaftNode.GetReady"/> and acknowledged with
/// <see cref="RaftNode.Advance"/>. The driver must honour these obligations, in this order:
/// <list type="number">
/// <item><b>Persist</b> <see cref="Snapshot"/> (if any), then <see cref="Entries"/> (replacing every persisted entry at or
/// after the first one's index), then <see cref="HardState"/> (if any), and wait until they are durable. The order
/// matters if a crash interrupts the writes: a durable commit index must never point at entries that were not
/// written, so entries go first.</item>
/// <item><b>Send</b> <see cref="Messages"/>, only after step 1 completed: a vote or an append acknowledgement must never
/// leave before the state it promises is on disk.</item>
/// <item><b>Apply</b> <see cref="Snapshot"/> (if any) and then <see cref="CommittedEntries"/> to the state machine, in index
/// order, each exactly once.</item>
/// <item>Call <see cref="RaftNode.Advance"/> with this Ready, and take no other Ready before that.</item>
/// </list>
/// <see cref="ReadStates"/> may be answered once the applied index reaches their index.
/// </summary>
public sealed class Ready
{
    internal Ready(
        SoftState? softState,
        HardState? hardState,
        ReceivedSnapshot? snapshot,
        IReadOnlyList<Entry> entries,
        IReadOnlyList<Message> messages,
        IReadOnlyList<Entry> committedEntries,
        IReadOnlyList<ReadState> readStates,
        bool mustSync)
    {
        MustSync = mustSync;
        SoftState = softState;
        HardState = hardState;
        Snapshot = snapshot;
        Entries = entries;
        Messages = messages;
        CommittedEntries = committedEntries;
        ReadStates = readStates;
    }

    /// <summary>Leader and role, when changed since the last Ready.</summary>
    public SoftState? SoftState { get; }

    /// <summary>Term, vote and commit to persist, when changed since the last Ready.</summary>
    public HardState? HardState { get; }

    /// <summary>A snapshot received from the leader: persist it, then restore the state machine from it.</summary>
    public ReceivedSnapshot? Snapshot { get; }

    /// <summary>Entries to persist; they replace any persisted entries from the first one's index on.</summary>
    public IReadOnlyList<Entry> Entries { get; }

    /// <summary>Messages to send after persisting.</summary>
    public IReadOnlyList<Message> Messages { get; }

    /// <summary>Committed entries to apply in order.</summary>
    public IReadOnlyList<Entry> CommittedEntries { get; }

    /// <summary>Answers to read requests.</summary>
    public IReadOnlyList<ReadState> ReadStates { get; }

    /// <summary>
    /// True when persisting must be durable (fsync) before the messages leave: there are entries or a snapshot, or the
    /// term or vote changed. A hard state whose only change is the commit index may be written without waiting for
    /// the disk: a commit index lost in a crash is learned again from the leader, and nothing was promised on it.
    /// </summary>
    public bool MustSync { get; }
}
