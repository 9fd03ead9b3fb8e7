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
/// <item><b>Send</b> <see cref="ImmediateMessages"/>: they may leave at once, before or while step 2 runs (a leader's
/// appends then travel while its own disk write is in flight, Raft thesis §10.2.1). Holding them back until step 3
/// is also correct, only slower.</item>
/// <item><b>Persist</b> <see cref="Snapshot"/> (if any), then <see cref="Entries"/> (replacing every persisted entry at or
/// after the first one's index), then <see cref="HardState"/> (if any), and wait until they are durable. The order
/// matters if a crash interrupts the writes: a durable commit index must never point at entries that were not
/// written, so entries go first.</item>
/// <item><b>Send</b> <see cref="Messages"/>, only after step 2 completed: a vote, a vote request or an append
/// acknowledgement must never leave before the state it promises is on disk.</item>
/// <item><b>Apply</b> <see cref="Snapshot"/> (if any) and then <see cref="CommittedEntries"/> to the state machine, in index
/// order, each exactly once (after step 2: a committed entry may be in this Ready's <see cref="Entries"/>).</item>
/// <item>Call <see cref="RaftNode.Advance"/> with this Ready, and take no other Ready before that. Until then the node
/// may still be stepped, ticked and asked to propose; what that produces comes in the next Ready.</item>
/// </list>
/// <see cref="ReadStates"/> may be answered once the applied index reaches their index.
/// <para>
/// Why the immediate messages are safe: they are only a leader's Append, Heartbeat, InstallSnapshot, TimeoutNow and
/// ReadIndex answers, and only those built while the leader's term was already durable (so the same node can never
/// lead that term again after a crash, and an entry's (index, term) names one entry forever). None of them promises
/// anything about the sender's unpersisted state: entries in an early append are counted towards a commit only from
/// the followers' acknowledgements (each sent after that follower's own sync) and, for the leader itself, only after
/// <see cref="RaftNode.Advance"/> says they are durable; the commit index they carry was computed from durable copies
/// only. A leader that crashes before its own write completes loses entries some followers may hold: they were
/// uncommitted unless a quorum of followers holds them durably, and either way Raft's election rule settles them.
/// </para>
/// </summary>
public sealed class Ready
{
    internal Ready(
        SoftState? softState,
        HardState? hardState,
        ReceivedSnapshot? snapshot,
        IReadOnlyList<Entry> entries,
        IReadOnlyList<Message> immediateMessages,
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
        ImmediateMessages = immediateMessages;
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

    /// <summary>
    /// Messages that may be sent before this Ready is persisted (step 1): a leader's appends, heartbeats, snapshot
    /// chunks, TimeoutNow and ReadIndex answers, built in a term that was already durable. Per destination they
    /// precede <see cref="Messages"/>.
    /// </summary>
    public IReadOnlyList<Message> ImmediateMessages { get; }

    /// <summary>Messages to send only after this Ready's snapshot, entries and hard state are durable (step 3).</summary>
    public IReadOnlyList<Message> Messages { get; }

    /// <summary>Committed entries to apply in order.</summary>
    public IReadOnlyList<Entry> CommittedEntries { get; }

    /// <summary>Answers to read requests.</summary>
    public IReadOnlyList<ReadState> ReadStates { get; }

    /// <summary>
    /// True when persisting must be durable (fsync) before <see cref="Messages"/> leave: there are entries or a
    /// snapshot, or the term or vote changed. A hard state whose only change is the commit index may be written
    /// without waiting for the disk: a commit index lost in a crash is learned again from the leader, and nothing was
    /// promised on it.
    /// </summary>
    public bool MustSync { get; }
}
