namespace Kuorum.Raft;

/// <summary>How strongly a read must be confirmed.</summary>
public enum ReadConsistency
{
    /// <summary>ReadIndex: the leader confirms with a quorum, after the request arrived, that it still leads.</summary>
    Linearizable,

    /// <summary>
    /// Lease: the leader answers at once while a quorum confirmed it within the lease (shorter than the election
    /// timeout, needs check-quorum); otherwise falls back to <see cref="Linearizable"/>. Correct only while the
    /// nodes' tick rates agree within the margin between lease and election timeout.
    /// </summary>
    Lease,
}

// Linearizable reads by ReadIndex (§6.4 of the dissertation) and by leader lease.
public sealed partial class RaftNode
{
    private readonly List<PendingRead> _pendingReads = [];
    private readonly List<PendingRead> _readsAwaitingCommit = [];

    // Heartbeat rounds: each broadcast gets a number; an acknowledged round proves leadership at its send tick.
    private readonly Dictionary<long, long> _roundSentAt = [];
    private long _round;

    // Set once this leader sent TimeoutNow: its successor may be elected against the voters' lease, so this
    // leader serves no more lease reads in its term.
    private bool _leaseRevoked;

    private readonly record struct PendingRead(long From, long Context, long Index, long Round, bool AllowLease);

    /// <summary>
    /// Asks for a read index. The answer arrives as a <see cref="ReadState"/> with <paramref name="context"/> in a
    /// later <see cref="Ready"/> (possibly never, if leadership changes: retry after a timeout). A follower
    /// forwards the request to its leader.
    /// </summary>
    public ProposalResult ReadIndex(long context, ReadConsistency consistency = ReadConsistency.Linearizable)
    {
        if (Role == RaftRole.Leader)
        {
            HandleReadRequest(Id, context, consistency == ReadConsistency.Lease);
            return ProposalResult.Accepted(_log.Committed, Term);
        }

        if (LeaderId == None)
        {
            return ProposalResult.Refused(ProposalStatus.NotLeader, None, "no leader is known");
        }

        Send(new Message { Type = MessageType.ReadIndex, From = Id, To = LeaderId, Term = Term, Context = context });
        return ProposalResult.Accepted(0, Term);
    }

    /// <summary>True when this leader may answer reads from local state without a quorum round.</summary>
    public bool LeaseValid
    {
        get
        {
            if (Role != RaftRole.Leader || _config.LeaseTicks == 0 || _leaseRevoked || !CommittedInCurrentTerm)
            {
                return false;
            }

            // The quorum-th most recent confirmation among voters (ourselves: now).
            var membership = _log.Membership;
            var confirmed = membership.Voters
                .Select(v => v == Id ? _now : _progress.TryGetValue(v, out var p) ? p.LastAckedRoundTick : long.MinValue)
                .OrderDescending()
                .ElementAt(membership.Quorum - 1);
            return confirmed != long.MinValue && _now < confirmed + _config.LeaseTicks;
        }
    }

    private void HandleReadRequest(long from, long context, bool allowLease)
    {
        var read = new PendingRead(from, context, 0, 0, allowLease);
        if (!CommittedInCurrentTerm)
        {
            // Until the no-op commits, this leader's commit index may lag what earlier leaders committed.
            _readsAwaitingCommit.Add(read);
            return;
        }

        var membership = _log.Membership;
        if ((membership.Voters.Count == 1 && membership.Voters.Contains(Id)) || (allowLease && LeaseValid) || UnsafeReadsWithoutQuorum)
        {
            AnswerRead(read with { Index = _log.Committed });
            return;
        }

        _pendingReads.Add(read with { Index = _log.Committed, Round = _round + 1 });
        BroadcastHeartbeat();
    }

    private long StartRound()
    {
        _round++;
        _roundSentAt[_round] = _now;

        // Rounds older than an election timeout are worthless for the lease; forget them.
        if (_roundSentAt.Count > 4 * _config.ElectionTicks + 16)
        {
            foreach (var old in _roundSentAt.Where(r => r.Value < _now - _config.ElectionTicks).Select(r => r.Key).ToList())
            {
                _roundSentAt.Remove(old);
            }
        }

        return _round;
    }

    private void AcknowledgeRound(long from, Progress pr, long round)
    {
        if (round <= pr.LastAckedRound || round > _round)
        {
            return;
        }

        pr.LastAckedRound = round;
        if (_roundSentAt.TryGetValue(round, out var sentAt))
        {
            pr.LastAckedRoundTick = sentAt;
        }

        if (_pendingReads.Count == 0 || !_log.Membership.Voters.Contains(from))
        {
            return;
        }

        // Every read registered before the quorum-confirmed round is safe to answer.
        var membership = _log.Membership;
        var confirmedRound = membership.Voters
            .Select(v => v == Id ? _round : _progress.TryGetValue(v, out var p) ? p.LastAckedRound : 0)
            .OrderDescending()
            .ElementAt(membership.Quorum - 1);
        var released = _pendingReads.TakeWhile(r => r.Round <= confirmedRound).ToList();
        _pendingReads.RemoveRange(0, released.Count);
        foreach (var read in released)
        {
            AnswerRead(read);
        }
    }

    private void ReleaseReadsAwaitingCommit()
    {
        if (_readsAwaitingCommit.Count == 0 || !CommittedInCurrentTerm)
        {
            return;
        }

        var waiting = _readsAwaitingCommit.ToList();
        _readsAwaitingCommit.Clear();
        foreach (var read in waiting)
        {
            HandleReadRequest(read.From, read.Context, read.AllowLease);
        }
    }

    private void AnswerRead(PendingRead read)
    {
        if (read.From == Id)
        {
            _readStates.Add(new ReadState(read.Index, read.Context));
        }
        else
        {
            Send(new Message { Type = MessageType.ReadIndexResponse, From = Id, To = read.From, Term = Term, Index = read.Index, Context = read.Context });
        }
    }

    private void RejectReadIndex(Message m) =>
        Send(new Message { Type = MessageType.ReadIndexResponse, From = Id, To = m.From, Term = Term, Context = m.Context, Reject = true });

    private void ResetReads()
    {
        _pendingReads.Clear();
        _readsAwaitingCommit.Clear();
        _roundSentAt.Clear();
        _round = 0;
    }
}
