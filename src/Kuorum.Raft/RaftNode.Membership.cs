namespace Kuorum.Raft;

// Membership changes one member at a time (§4.1 of the dissertation) and leadership transfer (§3.10).
public sealed partial class RaftNode
{
    /// <summary>
    /// Proposes a membership change. Refused unless this node leads, has committed an entry of its term, and
    /// every earlier change is committed; a learner is promoted only once it replicates within
    /// <see cref="RaftConfig.MaxPromotionLag"/> entries of the commit index.
    /// The change takes effect on each node as soon as it is appended to its log.
    /// </summary>
    public ProposalResult ProposeConfChange(ConfChange change)
    {
        if (RefuseLeaderRequest() is { } refused)
        {
            return refused;
        }

        if (!CommittedInCurrentTerm)
        {
            return ProposalResult.Refused(ProposalStatus.Busy, Id,
                $"the leader has not committed an entry of term {Term} yet (commit {_log.Committed}, term starts at {_termStartIndex})");
        }

        if (_log.MembershipIndex > _log.Committed)
        {
            return ProposalResult.Refused(ProposalStatus.Busy, Id,
                $"the membership change at index {_log.MembershipIndex} is not committed yet (commit {_log.Committed})");
        }

        if (_log.Membership.Validate(change) is { } error)
        {
            return ProposalResult.Refused(ProposalStatus.Invalid, Id, error);
        }

        if (change.Type == ConfChangeType.PromoteLearner
            && _progress[change.NodeId] is var learner
            && (learner.State != ReplicationState.Replicate || learner.Match < _log.Committed - _config.MaxPromotionLag))
        {
            return ProposalResult.Refused(ProposalStatus.Busy, Id,
                $"learner {change.NodeId} has not caught up: it holds up to {learner.Match} ({learner.State}), commit is {_log.Committed}, allowed lag {_config.MaxPromotionLag}");
        }

        AppendAsLeader(EntryType.ConfChange, change.Encode());
        BroadcastAppend();
        return ProposalResult.Accepted(_log.LastIndex, Term);
    }

    /// <summary>
    /// Hands leadership to <paramref name="target"/>, or with <see cref="None"/> to the most caught-up voter. The
    /// leader refuses proposals until the transfer completes or an election timeout passes.
    /// </summary>
    public ProposalResult TransferLeadership(long target = None)
    {
        if (Role != RaftRole.Leader)
        {
            return ProposalResult.Refused(ProposalStatus.NotLeader, LeaderId, LeaderId == None ? "no leader is known" : $"node {LeaderId} is the leader");
        }

        if (target == None)
        {
            target = BestSuccessor();
            if (target == None)
            {
                return ProposalResult.Refused(ProposalStatus.Invalid, Id, "no other voter to transfer leadership to");
            }
        }

        if (target == Id)
        {
            return ProposalResult.Accepted(_log.LastIndex, Term);
        }

        if (!_log.Membership.Voters.Contains(target))
        {
            return ProposalResult.Refused(ProposalStatus.Invalid, Id,
                $"node {target} is not a voter; leadership can go to {string.Join(", ", _log.Membership.Voters.Where(v => v != Id))}");
        }

        if (LeadTransferee == target)
        {
            return ProposalResult.Accepted(_log.LastIndex, Term);
        }

        LeadTransferee = target;
        _electionElapsed = 0;
        if (_progress[target].Match == _log.LastIndex)
        {
            SendTimeoutNow(target);
        }
        else
        {
            SendAppends(target);
        }

        return ProposalResult.Accepted(_log.LastIndex, Term);
    }

    private long BestSuccessor() => _log.Membership.Voters
        .Where(v => v != Id && _progress.ContainsKey(v))
        .OrderByDescending(v => _progress[v].Match)
        .ThenBy(v => v)
        .FirstOrDefault(None);

    private void SendTimeoutNow(long to)
    {
        _leaseRevoked = true;
        Send(new Message { Type = MessageType.TimeoutNow, From = Id, To = to, Term = Term });
    }

    // A leader that committed its own removal hands over to the most caught-up voter and steps down (§4.2.2).
    private void StepDownIfRemoved()
    {
        if (Role != RaftRole.Leader || _log.Membership.Voters.Contains(Id) || _log.Committed < _log.MembershipIndex)
        {
            return;
        }

        var successor = BestSuccessor();
        if (successor != None && _progress[successor].Match == _log.LastIndex)
        {
            SendTimeoutNow(successor);
        }

        BecomeFollower(Term, None);
    }
}
