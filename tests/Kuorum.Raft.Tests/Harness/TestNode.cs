namespace Kuorum.Raft.Tests.Harness;

/// <summary>
/// One RaftNode with the driver a real deployment would wrap around it: durable storage, a state machine that
/// records what it applied, and the Ready loop done exactly as <see cref="Ready"/> documents it (send the immediate
/// messages, persist, send the others, apply, Advance). The loop also checks the obligations the core owes its driver, and throws when one is broken.
/// </summary>
internal sealed class TestNode
{
    private readonly RaftConfig _config;

    public TestNode(RaftConfig config, RaftStorageState state)
        : this(config, new RaftNode(config, state), new MemoryStorage(state), state.Applied)
    {
    }

    private TestNode(RaftConfig config, RaftNode raft, MemoryStorage storage, long applied)
    {
        _config = config;
        Raft = raft;
        Storage = storage;
        AppliedIndex = applied;
    }

    /// <summary>A founding member of a new cluster of <paramref name="voters"/>.</summary>
    public static TestNode Bootstrap(RaftConfig config, IReadOnlyCollection<long> voters) =>
        new(config, RaftNode.Bootstrap(config, voters), new MemoryStorage(RaftStorageState.Empty), 0);

    public long Id => _config.Id;

    public RaftNode Raft { get; private set; }

    public MemoryStorage Storage { get; }

    public bool IsUp { get; private set; } = true;

    /// <summary>Ticks since this node (re)started: a node refuses votes for an election timeout after it starts.</summary>
    public int TicksSinceStart { get; private set; }

    /// <summary>Highest index the state machine applied (a snapshot counts as applying up to its index).</summary>
    public long AppliedIndex { get; private set; }

    /// <summary>Entries applied to the state machine, in the order it applied them (durable: survives crashes).</summary>
    public List<Entry> Applied { get; } = [];

    /// <summary>Snapshots the state machine was restored from.</summary>
    public List<ReceivedSnapshot> InstalledSnapshots { get; } = [];

    public List<ReadState> ReadStates { get; } = [];

    /// <summary>Every Ready handled since the node (re)started, in order.</summary>
    public List<Ready> Readies { get; } = [];

    /// <summary>The terms this node led, in the order it was elected.</summary>
    public List<long> LedTerms { get; } = [];

    public void Tick()
    {
        Raft.Tick();
        TicksSinceStart++;
    }

    /// <summary>Steps <paramref name="message"/> and returns what the node sends as a result.</summary>
    public List<Message> Step(Message message)
    {
        Raft.Step(message);
        return HandleReady();
    }

    /// <summary>A Ready whose immediate messages left and whose disk write is still in flight (<see cref="StartReady"/>), or null.</summary>
    public Ready? Persisting { get; private set; }

    /// <summary>
    /// Drives the Ready loop until the node has nothing left; returns the messages to send, in order. Does nothing
    /// while a Ready is <see cref="Persisting"/>: no other Ready may be taken before it is advanced.
    /// </summary>
    public List<Message> HandleReady()
    {
        var sent = new List<Message>();
        if (Persisting is not null)
        {
            return sent;
        }

        for (var rounds = 0; Raft.HasReady; rounds++)
        {
            if (rounds == 1000)
            {
                throw new InvalidOperationException($"node {Id} still has a Ready after {rounds} rounds");
            }

            sent.AddRange(StartReady());
            sent.AddRange(FinishReady());
        }

        return sent;
    }

    /// <summary>
    /// Step 1 of a Ready: takes it and returns its immediate messages; its disk write stays in flight (the node may
    /// still be stepped) until <see cref="FinishReady"/>.
    /// </summary>
    public List<Message> StartReady()
    {
        if (Persisting is not null)
        {
            throw new InvalidOperationException($"node {Id} takes a Ready before advancing the last one");
        }

        var leading = Raft.Role == RaftRole.Leader;
        var ready = Raft.GetReady();
        Readies.Add(ready);
        if (ready.SoftState is { Role: RaftRole.Leader })
        {
            LedTerms.Add(Raft.Term);
        }

        // Figure 3, Leader Append-Only: a leader never overwrites or deletes entries in its log.
        if (leading && ready.Entries.Count > 0 && ready.Entries[0].Index != Storage.LastIndex + 1)
        {
            throw new InvalidOperationException($"leader {Id} rewrites its log from {ready.Entries[0].Index} (last {Storage.LastIndex})");
        }

        CheckImmediate(ready);
        Persisting = ready;
        return [.. ready.ImmediateMessages];
    }

    /// <summary>Steps 2 to 5 of the Ready <see cref="StartReady"/> took: persist, send the other messages (returned), apply, Advance.</summary>
    public List<Message> FinishReady()
    {
        var ready = Persisting ?? throw new InvalidOperationException($"node {Id} has no Ready in flight");
        Persisting = null;
        Storage.Persist(ready);
        CheckDurableBeforeSending(ready);
        Apply(ready);
        ReadStates.AddRange(ready.ReadStates);
        Raft.Advance(ready);
        return [.. ready.Messages];
    }

    /// <summary>Snapshots the state machine at <paramref name="index"/> and lets the node compact its log.</summary>
    public SnapshotMetadata Compact(long index, byte[] data)
    {
        var metadata = Raft.Compact(index, new ByteArraySnapshotReader(data));
        Storage.Compact(metadata, data);
        return metadata;
    }

    /// <summary>The process stops: whatever was not in <see cref="Storage"/> is gone.</summary>
    public void Crash()
    {
        IsUp = false;
        Persisting = null;
    }

    /// <summary>A new process starts from <see cref="Storage"/> and the state machine's applied index.</summary>
    public void Restart()
    {
        Raft = new RaftNode(_config, Storage.Load(AppliedIndex));
        Readies.Clear();
        Persisting = null;
        IsUp = true;
        TicksSinceStart = 0;
    }

    // Step 1 sends before anything of this Ready is durable: only a leader's messages to its followers, and only in
    // a term already on disk (else a crash could let the node lead that term again with a different log).
    private void CheckImmediate(Ready ready)
    {
        foreach (var m in ready.ImmediateMessages)
        {
            var allowed = m.Type is MessageType.Append or MessageType.Heartbeat or MessageType.InstallSnapshot or MessageType.TimeoutNow
                || m is { Type: MessageType.ReadIndexResponse, Reject: false };
            if (!allowed || m.From != Id || m.Term != Storage.HardState.Term)
            {
                throw new InvalidOperationException($"node {Id} may not send {m} before persisting its Ready (durable {Storage.HardState})");
            }
        }
    }

    // Step 3 may only send what step 2 made durable: a granted vote needs the vote on disk, an acknowledged
    // index needs the entry on disk, a candidate's request needs its own vote on disk.
    private void CheckDurableBeforeSending(Ready ready)
    {
        var hard = Storage.HardState;
        foreach (var m in ready.Messages)
        {
            var durable = m.Type switch
            {
                MessageType.VoteResponse when !m.Reject => hard.Term == m.Term && hard.Vote == m.To,
                MessageType.Vote => hard.Term == m.Term && hard.Vote == Id,
                MessageType.AppendResponse when !m.Reject && m.Index > Storage.Snapshot.Index => Storage.TermAt(m.Index) is not null,
                MessageType.InstallSnapshotResponse when m.Done => Storage.LastIndex >= m.Index,
                _ => true,
            };
            if (!durable)
            {
                throw new InvalidOperationException($"node {Id} sends {m} before the state it promises is persisted ({hard}, last {Storage.LastIndex})");
            }
        }
    }

    // Step 3: the snapshot, then committed entries, in index order, each exactly once.
    private void Apply(Ready ready)
    {
        if (ready.Snapshot is { } snapshot)
        {
            if (snapshot.Metadata.Index <= AppliedIndex)
            {
                throw new InvalidOperationException($"node {Id} is asked to restore snapshot {snapshot.Metadata.Index} after applying {AppliedIndex}");
            }

            InstalledSnapshots.Add(snapshot);
            AppliedIndex = snapshot.Metadata.Index;
        }

        foreach (var entry in ready.CommittedEntries)
        {
            if (entry.Index != AppliedIndex + 1)
            {
                throw new InvalidOperationException(
                    $"node {Id} is asked to apply {entry.Index} after {AppliedIndex}: entries apply in order, each exactly once");
            }

            if (Storage.TermAt(entry.Index) != entry.Term)
            {
                throw new InvalidOperationException($"node {Id} is asked to apply {entry}, which is not in its persisted log");
            }

            Applied.Add(entry);
            AppliedIndex = entry.Index;
        }
    }
}
