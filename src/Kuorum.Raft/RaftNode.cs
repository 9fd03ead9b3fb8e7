namespace Kuorum.Raft;

/// <summary>
/// One Raft node as a pure, deterministic state machine (model: etcd-io/raft's RawNode). It does no I/O, starts
/// no threads and reads no clock: time advances by <see cref="Tick"/>, messages arrive by <see cref="Step"/>, and
/// everything the node wants done comes out of <see cref="GetReady"/>, whose obligations the driver must honour
/// before calling <see cref="Advance"/>. Not thread-safe: one driver loop owns it.
/// </summary>
public sealed partial class RaftNode
{
    /// <summary>No node: no leader known, no vote cast.</summary>
    public const long None = 0;

    private readonly RaftConfig _config;
    private readonly RaftLog _log;
    private readonly Dictionary<long, Progress> _progress = [];
    private readonly Dictionary<long, bool> _votes = [];
    private List<Message> _messages = [];
    private List<Message> _immediateMessages = [];
    private List<ReadState> _readStates = [];

    private int _electionElapsed;
    private int _heartbeatElapsed;
    private int _randomizedElectionTimeout;

    // Local clock in ticks since this node started; only compared with itself (leader lease).
    private long _now;

    // After a (re)start the node may have acknowledged a leader just before it crashed: refuse votes for an
    // election timeout so that leader's lease stays sound.
    private int _voteGuardTicks;

    private HardState _persistedHardState;
    private SoftState _reportedSoftState = new(None, RaftRole.Follower);
    private Membership _membership;
    private ISnapshotReader? _snapshotData;
    private ReceivedSnapshot? _snapshotToInstall;

    /// <summary>Starts a node from what its storage holds (use <see cref="RaftStorageState.Empty"/> for a node that joins).</summary>
    public RaftNode(RaftConfig config, RaftStorageState state)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(state);
        config.Validate();
        if (state.Snapshot.Index > 0 && state.SnapshotData is null)
        {
            throw new ArgumentException($"snapshot at index {state.Snapshot.Index} needs its data", nameof(state));
        }

        _config = config;
        _log = new RaftLog(state.Snapshot);
        _log.LoadPersisted(state.Entries, state.HardState.Commit);
        _log.AppliedTo(Math.Clamp(state.Applied, _log.Applied, _log.Committed));
        _snapshotData = state.SnapshotData;
        _membership = _log.Membership;
        // If a crash struck between writing entries and the hard state, the log may hold a later term than the
        // hard state; no vote in that term ever left (votes leave only once durable), so none is remembered.
        Term = Math.Max(state.HardState.Term, _log.LastTerm);
        Vote = Term == state.HardState.Term ? state.HardState.Vote : None;
        _persistedHardState = state.HardState with { Commit = _log.Committed };
        BecomeFollower(Term, None);
        // A node that never had a term cannot have acknowledged any leader: no lease to protect.
        _voteGuardTicks = config.CheckQuorum && state.HardState.Term > 0 ? config.ElectionTicks : 0;
    }

    /// <summary>
    /// Starts a node of a brand-new cluster whose voters are <paramref name="voters"/>. Every founding member must be
    /// given the same list: the membership is written as the same committed <see cref="EntryType.Bootstrap"/> entry
    /// (index 1, term 1) in each log, and reaches storage through the first <see cref="Ready"/>. A founding member
    /// that crashes before persisting it restarts empty and receives it from the leader like a joining node.
    /// </summary>
    public static RaftNode Bootstrap(RaftConfig config, IReadOnlyCollection<long> voters)
    {
        ArgumentNullException.ThrowIfNull(voters);
        if (voters.Count == 0 || !voters.Contains(config.Id) || voters.Distinct().Count() != voters.Count)
        {
            throw new ArgumentException($"bootstrap voters must be distinct and include this node ({config.Id}); got [{string.Join(",", voters)}]", nameof(voters));
        }

        var node = new RaftNode(config, RaftStorageState.Empty);
        node.Term = 1;
        node._log.AppendNew(new Entry(1, 1, EntryType.Bootstrap, new Membership(voters).EncodeBootstrap()));
        node._log.CommitTo(1);
        node.SyncMembership();
        return node;
    }

    /// <summary>This node's id.</summary>
    public long Id => _config.Id;

    /// <summary>Current term; as leader, the fencing token of this leadership.</summary>
    public long Term { get; private set; }

    /// <summary>Whom this node voted for in <see cref="Term"/>.</summary>
    public long Vote { get; private set; }

    /// <summary>The leader this node follows, or <see cref="None"/>.</summary>
    public long LeaderId { get; private set; }

    /// <summary>This node's role.</summary>
    public RaftRole Role { get; private set; }

    /// <summary>Highest index known committed.</summary>
    public long CommitIndex => _log.Committed;

    /// <summary>Highest index applied (as acknowledged by <see cref="Advance"/>).</summary>
    public long AppliedIndex => _log.Applied;

    /// <summary>Index of the last entry in the log.</summary>
    public long LastIndex => _log.LastIndex;

    /// <summary>Membership in force: that of the newest membership entry in the log, committed or not.</summary>
    public Membership Membership => _log.Membership;

    /// <summary>The member this leader is handing leadership to, or <see cref="None"/>.</summary>
    public long LeadTransferee { get; private set; }

    /// <summary>Test-only fault: commit entries of earlier terms by counting replicas (violates Raft §5.4.2 / Figure 8).</summary>
    internal bool UnsafeCommitEarlierTermsByCounting { get; set; }

    /// <summary>Test-only fault: answer linearizable reads at once, without confirming leadership with a quorum.</summary>
    internal bool UnsafeReadsWithoutQuorum { get; set; }

    /// <summary>
    /// Test-only fault: the leader counts its own entries towards a quorum as soon as it appends them, before
    /// <see cref="Advance"/> says they are durable (unsafe now that its appends may leave before its own write).
    /// </summary>
    internal bool UnsafeCountUnpersistedOwnEntries { get; set; }

    /// <summary>
    /// While true, this node starts no election: not when its election timeout passes, not on <see cref="Campaign"/>,
    /// not on a leader's TimeoutNow. It still votes and replicates. The agent sets it while its application is
    /// critical, so leadership never moves to a replica that cannot serve.
    /// </summary>
    public bool CampaignSuppressed { get; set; }

    /// <summary>Advances the node's clock by one tick: elections, heartbeats, check-quorum and transfers time out here.</summary>
    public void Tick()
    {
        _now++;
        if (_voteGuardTicks > 0)
        {
            _voteGuardTicks--;
        }

        if (Role == RaftRole.Leader)
        {
            TickLeader();
        }
        else
        {
            TickElection();
        }
    }

    /// <summary>
    /// Feeds a message from a peer. Messages not addressed to this node, from itself, or malformed are ignored:
    /// peer input can never corrupt the node.
    /// </summary>
    public void Step(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.To != Id || message.From == Id || message.From <= 0)
        {
            return;
        }

        if (message.Term > Term)
        {
            if (!StepHigherTerm(message))
            {
                return;
            }
        }
        else if (message.Term < Term)
        {
            StepLowerTerm(message);
            return;
        }

        switch (message.Type)
        {
            case MessageType.PreVote or MessageType.Vote:
                HandleVoteRequest(message);
                break;
            case var _ when Role == RaftRole.Leader:
                StepLeader(message);
                break;
            case var _ when Role is RaftRole.Candidate or RaftRole.PreCandidate:
                StepCandidate(message);
                break;
            default:
                StepFollower(message);
                break;
        }
    }

    /// <summary>Proposes application data; on success wait for it among committed entries at the returned index.</summary>
    public ProposalResult Propose(ReadOnlyMemory<byte> data) => ProposeBatch([data]);

    /// <summary>Proposes several entries at once; the returned index is the last one's (they are consecutive).</summary>
    public ProposalResult ProposeBatch(IReadOnlyList<ReadOnlyMemory<byte>> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0 || batch.Any(d => d.IsEmpty))
        {
            return ProposalResult.Refused(ProposalStatus.Invalid, LeaderId,
                "a proposal needs at least one entry and no empty entry (empty entries are reserved for leader no-ops)");
        }

        if (RefuseLeaderRequest() is { } refused)
        {
            return refused;
        }

        var bytes = batch.Sum(d => (long)d.Length + Entry.HeaderBytes);
        if (_uncommittedBytes > 0 && _uncommittedBytes + bytes > _config.MaxUncommittedBytes)
        {
            return ProposalResult.Refused(ProposalStatus.Overloaded, Id,
                $"{_uncommittedBytes} uncommitted bytes; the limit is {_config.MaxUncommittedBytes}");
        }

        foreach (var data in batch)
        {
            AppendAsLeader(EntryType.Normal, data);
        }

        BroadcastAppend();
        return ProposalResult.Accepted(_log.LastIndex, Term);
    }

    /// <summary>Forces this node to campaign now, as if its election timeout had passed.</summary>
    public void Campaign()
    {
        if (Role != RaftRole.Leader && Promotable)
        {
            StartElection(_config.PreVote ? ElectionKind.PreVote : ElectionKind.Vote);
        }
    }

    /// <summary>Lets the node discard its log up to <paramref name="index"/> (applied) after the application snapshotted its state there.</summary>
    public SnapshotMetadata Compact(long index, ISnapshotReader data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var metadata = _log.CompactTo(index);
        _snapshotData = data;
        return metadata;
    }

    /// <summary>True when <see cref="GetReady"/> has something to hand over.</summary>
    public bool HasReady =>
        new SoftState(LeaderId, Role) != _reportedSoftState
        || CurrentHardState != _persistedHardState
        || _log.Persisted < _log.LastIndex
        || _snapshotToInstall is not null
        || _messages.Count > 0
        || _immediateMessages.Count > 0
        || _log.HasNextToApply
        || _readStates.Count > 0;

    /// <summary>Takes the work accumulated since the last <see cref="Advance"/>; see <see cref="Ready"/> for what the driver must do with it.</summary>
    public Ready GetReady()
    {
        var soft = new SoftState(LeaderId, Role);
        SoftState? softChanged = soft != _reportedSoftState ? soft : null;
        _reportedSoftState = soft;
        var hard = CurrentHardState;
        var entries = _log.Unpersisted();
        var mustSync = entries.Count > 0 || _snapshotToInstall is not null
            || hard.Term != _persistedHardState.Term || hard.Vote != _persistedHardState.Vote;
        var ready = new Ready(
            softChanged,
            hard != _persistedHardState ? hard : null,
            _snapshotToInstall,
            entries,
            _immediateMessages,
            _messages,
            _log.NextToApply(_config.MaxApplyBytesPerReady),
            _readStates,
            mustSync);
        _snapshotToInstall = null;
        _messages = [];
        _immediateMessages = [];
        _readStates = [];
        return ready;
    }

    /// <summary>Tells the node the driver has persisted, sent and applied what <paramref name="ready"/> held.</summary>
    public void Advance(Ready ready)
    {
        ArgumentNullException.ThrowIfNull(ready);
        if (ready.Entries.Count > 0)
        {
            var last = ready.Entries[^1];
            if (_log.MatchTerm(last.Index, last.Term))
            {
                _log.PersistedTo(last.Index);
            }
        }

        if (ready.HardState is { } hard)
        {
            _persistedHardState = hard;
        }

        if (ready.CommittedEntries.Count > 0 && ready.CommittedEntries[^1].Index > _log.Applied)
        {
            _log.AppliedTo(ready.CommittedEntries[^1].Index);
        }

        if (Role == RaftRole.Leader)
        {
            // The leader's own copy counts towards a quorum only once durable.
            _progress[Id].MaybeUpdate(_log.Persisted);
            MaybeCommitAndBroadcast();
        }
    }

    /// <summary>A point-in-time view of the node.</summary>
    public RaftStatus Status() => new(
        Id, Term, Vote, Role, LeaderId, _log.Committed, _log.Applied, _log.LastIndex, _log.Snapshot.Index,
        _log.Membership, LeadTransferee,
        Role == RaftRole.Leader
            ? _progress.OrderBy(p => p.Key)
                .Select(p => new MemberProgress(p.Key, _log.Membership.Voters.Contains(p.Key), p.Value.Match, p.Value.Next, p.Value.State, p.Value.RecentActive))
                .ToList()
            : []);

    private HardState CurrentHardState => new(Term, Vote, _log.Committed);

    private bool Promotable => _log.Membership.Voters.Contains(Id) && !CampaignSuppressed;

    private void Send(Message message)
    {
        if (MaySendBeforePersisting(message))
        {
            _immediateMessages.Add(message);
        }
        else
        {
            _messages.Add(message);
        }
    }

    // Which messages may leave before the Ready that carries them is durable (Ready.ImmediateMessages). Only a
    // leader's messages to its followers, and only once its term is durable, so they depend on nothing the Ready
    // has yet to persist: a leader elected in the same step as it raised its term (a single voter) waits for one
    // Ready. With the term durable, the node can never lead this term again, so every (index, term) it sends names
    // one entry forever, even if a crash loses its own copy. (Before that, its probes could carry only the
    // term's no-op, which a second incarnation would write alike; the rule does not lean on that.)
    // - Append, InstallSnapshot: the entries or snapshot promise nothing about the leader's disk; the leader counts
    //   its own copy only after Advance, and the commit index they carry comes from durable copies only.
    // - Heartbeat: a commit index capped at the follower's match (durable on a quorum), and a read round, which
    //   confirms leadership whether or not the leader's disk is done.
    // - TimeoutNow: the target already holds the leader's whole log durably; an election is safe at any time, and
    //   this leader stopped its lease when it queued the message.
    // - ReadIndexResponse (not a refusal): the read index is a committed index confirmed by a quorum round.
    // Everything else waits: vote requests and answers (the term and vote must be durable), append, heartbeat and
    // snapshot answers (the follower's log or term must be durable), and whatever a non-leader sends.
    private bool MaySendBeforePersisting(Message m) =>
        Role == RaftRole.Leader
        && m.Term == Term
        && Term == _persistedHardState.Term
        && m.Type switch
        {
            MessageType.Append or MessageType.Heartbeat or MessageType.InstallSnapshot or MessageType.TimeoutNow => true,
            MessageType.ReadIndexResponse => !m.Reject,
            _ => false,
        };

    private ProposalResult? RefuseLeaderRequest()
    {
        if (Role != RaftRole.Leader)
        {
            return ProposalResult.Refused(ProposalStatus.NotLeader, LeaderId,
                LeaderId == None ? "no leader is known" : $"node {LeaderId} is the leader");
        }

        return LeadTransferee != None
            ? ProposalResult.Refused(ProposalStatus.TransferInProgress, Id, $"leadership is being transferred to node {LeadTransferee}")
            : null;
    }

    // Keeps the leader's progress table in step with the membership the log implies.
    private void SyncMembership()
    {
        var current = _log.Membership;
        if (ReferenceEquals(current, _membership))
        {
            return;
        }

        _membership = current;
        if (Role != RaftRole.Leader)
        {
            return;
        }

        foreach (var id in current.All)
        {
            if (!_progress.ContainsKey(id))
            {
                _progress[id] = NewProgress();
            }
        }

        foreach (var id in _progress.Keys.Where(id => id != Id && !current.Contains(id)).ToList())
        {
            _progress.Remove(id);
        }

        if (LeadTransferee != None && !current.Voters.Contains(LeadTransferee))
        {
            LeadTransferee = None;
        }
    }

    private Progress NewProgress() => new(_log.LastIndex + 1, _config.MaxInflightMessages, _config.MaxInflightBytes);
}
