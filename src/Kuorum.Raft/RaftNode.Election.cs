namespace Kuorum.Raft;

// Elections: randomized timeouts, pre-vote, votes, check-quorum, and the role transitions.
public sealed partial class RaftNode
{
    private void TickElection()
    {
        _electionElapsed++;
        if (Promotable && _electionElapsed >= _randomizedElectionTimeout)
        {
            _electionElapsed = 0;
            StartElection(_config.PreVote ? ElectionKind.PreVote : ElectionKind.Vote);
        }
    }

    // True while this node would refuse to help unseat a leader it heard from recently (§6 of the
    // dissertation: disruptive servers); together with check-quorum this is what makes the leader lease sound.
    private bool InLease =>
        _voteGuardTicks > 0
        || (_config.CheckQuorum && LeaderId != None && _electionElapsed < _config.ElectionTicks);

    // Returns whether the message still needs handling in the (possibly new) term.
    private bool StepHigherTerm(Message m)
    {
        switch (m.Type)
        {
            case MessageType.PreVote or MessageType.Vote when !m.Transfer && InLease:
                return false;
            case MessageType.PreVote:
                // A pre-vote asks about a term the sender has not entered; ours does not change.
                return true;
            case MessageType.PreVoteResponse when !m.Reject:
                // A granted pre-vote carries the term we would campaign in.
                return true;
            case MessageType.Append or MessageType.Heartbeat or MessageType.InstallSnapshot:
                BecomeFollower(m.Term, m.From);
                return true;
            default:
                BecomeFollower(m.Term, None);
                return true;
        }
    }

    private void StepLowerTerm(Message m)
    {
        if (m.Type is MessageType.Append or MessageType.Heartbeat)
        {
            // A stale leader (back from a partition, or one that removed itself and could not commit the removal)
            // learns our term and steps down. Without this, with pre-vote a node whose term raced ahead could never
            // rejoin, and without check-quorum a removed leader would lead its own log forever.
            Send(new Message { Type = MessageType.AppendResponse, From = Id, To = m.From, Term = Term });
        }
        else if (m.Type == MessageType.PreVote)
        {
            Send(new Message { Type = MessageType.PreVoteResponse, From = Id, To = m.From, Term = Term, Reject = true });
        }
    }

    private void HandleVoteRequest(Message m)
    {
        var pre = m.Type == MessageType.PreVote;
        var canVote = Vote == m.From
            || (Vote == None && LeaderId == None)
            || (pre && m.Term > Term);
        var grant = canVote && _log.IsUpToDate(m.Index, m.LogTerm);
        Send(new Message
        {
            Type = pre ? MessageType.PreVoteResponse : MessageType.VoteResponse,
            From = Id,
            To = m.From,
            Term = grant ? m.Term : Term,
            Reject = !grant,
        });
        if (grant && !pre)
        {
            _electionElapsed = 0;
            Vote = m.From;
        }
    }

    private enum ElectionKind
    {
        PreVote,
        Vote,

        // Started by TimeoutNow from the leader: skips pre-vote and overrides the voters' leader lease.
        Transfer,
    }

    private void StartElection(ElectionKind kind)
    {
        if (kind == ElectionKind.PreVote)
        {
            BecomePreCandidate();
        }
        else
        {
            BecomeCandidate();
        }

        var pre = kind == ElectionKind.PreVote;
        var electionTerm = pre ? Term + 1 : Term;
        if (RecordVote(Id, granted: true))
        {
            return;
        }

        foreach (var voter in _log.Membership.Voters)
        {
            if (voter == Id)
            {
                continue;
            }

            Send(new Message
            {
                Type = pre ? MessageType.PreVote : MessageType.Vote,
                From = Id,
                To = voter,
                Term = electionTerm,
                Index = _log.LastIndex,
                LogTerm = _log.LastTerm,
                Transfer = kind == ElectionKind.Transfer,
            });
        }
    }

    // Records a (pre-)vote and acts once the outcome is decided; returns true when it was.
    private bool RecordVote(long from, bool granted)
    {
        _votes.TryAdd(from, granted);
        var voters = _log.Membership.Voters;
        var yes = _votes.Count(v => v.Value && voters.Contains(v.Key));
        var no = _votes.Count(v => !v.Value && voters.Contains(v.Key));
        if (yes >= _log.Membership.Quorum)
        {
            if (Role == RaftRole.PreCandidate)
            {
                StartElection(ElectionKind.Vote);
            }
            else
            {
                BecomeLeader();
            }

            return true;
        }

        if (no >= _log.Membership.Quorum)
        {
            BecomeFollower(Term, None);
            return true;
        }

        return false;
    }

    private void StepCandidate(Message m)
    {
        switch (m.Type)
        {
            case MessageType.Append or MessageType.Heartbeat or MessageType.InstallSnapshot:
                // Someone won this term.
                BecomeFollower(Term, m.From);
                StepFollower(m);
                break;
            case MessageType.PreVoteResponse when Role == RaftRole.PreCandidate:
            case MessageType.VoteResponse when Role == RaftRole.Candidate:
                RecordVote(m.From, !m.Reject);
                break;
            case MessageType.ReadIndex:
                RejectReadIndex(m);
                break;
        }
    }

    private void BecomeFollower(long term, long leader)
    {
        Reset(term);
        LeaderId = leader;
        Role = RaftRole.Follower;
    }

    private void BecomePreCandidate()
    {
        // Neither term nor vote changes: a pre-candidate that loses leaves no trace.
        _votes.Clear();
        LeaderId = None;
        Role = RaftRole.PreCandidate;
    }

    private void BecomeCandidate()
    {
        Reset(Term + 1);
        Vote = Id;
        Role = RaftRole.Candidate;
    }

    private void BecomeLeader()
    {
        Reset(Term);
        LeaderId = Id;
        Role = RaftRole.Leader;
        foreach (var id in _log.Membership.All.Append(Id).Distinct())
        {
            _progress[id] = NewProgress();
        }

        _progress[Id].MaybeUpdate(_log.Persisted);
        _progress[Id].BecomeReplicate();

        // The no-op commits entries of earlier terms (§5.4.2) and marks the start of this term for reads and
        // membership changes.
        _termStartIndex = _log.LastIndex + 1;
        AppendAsLeader(EntryType.Normal, ReadOnlyMemory<byte>.Empty);
        BroadcastAppend();
    }

    private void Reset(long term)
    {
        if (Term != term)
        {
            Term = term;
            Vote = None;
        }

        LeaderId = None;
        _electionElapsed = 0;
        _heartbeatElapsed = 0;
        _randomizedElectionTimeout = _config.ElectionTicks + _config.Random.Next(_config.ElectionTicks);
        _votes.Clear();
        _progress.Clear();
        LeadTransferee = None;
        _leaseRevoked = false;
        _uncommittedBytes = 0;
        ResetReads();
    }

    private void TickLeader()
    {
        _heartbeatElapsed++;
        _electionElapsed++;
        if (_electionElapsed >= _config.ElectionTicks)
        {
            _electionElapsed = 0;
            if (_config.CheckQuorum && !QuorumActive())
            {
                BecomeFollower(Term, None);
                return;
            }

            // A transfer that did not finish within an election timeout is abandoned.
            LeadTransferee = None;
        }

        if (_heartbeatElapsed >= _config.HeartbeatTicks)
        {
            _heartbeatElapsed = 0;
            BroadcastHeartbeat();
        }
    }

    // Check-quorum: did a quorum of voters answer during the last election timeout? Resets the marks.
    private bool QuorumActive()
    {
        var voters = _log.Membership.Voters;
        var active = 0;
        foreach (var (id, pr) in _progress)
        {
            if (id == Id || pr.RecentActive)
            {
                active += voters.Contains(id) ? 1 : 0;
            }

            pr.RecentActive = false;
        }

        return active >= _log.Membership.Quorum;
    }
}
