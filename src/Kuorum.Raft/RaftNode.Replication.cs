namespace Kuorum.Raft;

// Log replication: appends with the consistency check, fast back-off, pipelining under flow control,
// heartbeats, and the commit rule.
public sealed partial class RaftNode
{
    // Leader: index of this term's no-op; entries from here on are this term's.
    private long _termStartIndex;
    private long _uncommittedBytes;

    private bool CommittedInCurrentTerm => Role == RaftRole.Leader && _log.Committed >= _termStartIndex;

    private void AppendAsLeader(EntryType type, ReadOnlyMemory<byte> data)
    {
        var entry = new Entry(_log.LastIndex + 1, Term, type, data);
        _log.AppendNew(entry);
        _uncommittedBytes += entry.SizeBytes;
        SyncMembership();
    }

    private void StepLeader(Message m)
    {
        if (m.Type == MessageType.ReadIndex)
        {
            HandleReadRequest(m.From, m.Context, allowLease: false);
            return;
        }

        if (!_progress.TryGetValue(m.From, out var pr))
        {
            return;
        }

        switch (m.Type)
        {
            case MessageType.AppendResponse:
                pr.RecentActive = true;
                HandleAppendResponse(m, pr);
                break;
            case MessageType.HeartbeatResponse:
                pr.RecentActive = true;
                HandleHeartbeatResponse(m, pr);
                break;
            case MessageType.InstallSnapshotResponse:
                pr.RecentActive = true;
                HandleSnapshotResponse(m, pr);
                break;
        }
    }

    private void StepFollower(Message m)
    {
        switch (m.Type)
        {
            case MessageType.Append:
                _electionElapsed = 0;
                LeaderId = m.From;
                HandleAppend(m);
                break;
            case MessageType.Heartbeat:
                _electionElapsed = 0;
                LeaderId = m.From;
                HandleHeartbeat(m);
                break;
            case MessageType.InstallSnapshot:
                _electionElapsed = 0;
                LeaderId = m.From;
                HandleSnapshotChunk(m);
                break;
            case MessageType.TimeoutNow when Promotable:
                StartElection(ElectionKind.Transfer);
                break;
            case MessageType.ReadIndex:
                RejectReadIndex(m);
                break;
            case MessageType.ReadIndexResponse when !m.Reject:
                _readStates.Add(new ReadState(m.Index, m.Context));
                break;
        }
    }

    private void BroadcastAppend()
    {
        foreach (var id in _progress.Keys)
        {
            if (id != Id)
            {
                SendAppends(id);
            }
        }
    }

    // Sends one Append (or snapshot chunk) and then, while the follower is in Replicate state and the
    // in-flight window allows, pipelines further batches.
    private void SendAppends(long to)
    {
        if (!SendAppend(to, sendIfEmpty: true))
        {
            return;
        }

        var pr = _progress[to];
        while (pr.State == ReplicationState.Replicate && pr.Next <= _log.LastIndex && SendAppend(to, sendIfEmpty: false))
        {
        }
    }

    private bool SendAppend(long to, bool sendIfEmpty)
    {
        var pr = _progress[to];
        if (pr.IsPaused)
        {
            return false;
        }

        var prevIndex = pr.Next - 1;
        if (_log.Term(prevIndex) is not { } prevTerm)
        {
            // The entries this follower needs are compacted away.
            SendSnapshot(to, pr);
            return true;
        }

        var entries = pr.Next <= _log.LastIndex ? _log.Slice(pr.Next, _log.LastIndex, _config.MaxAppendBytes) : [];
        if (entries.Count == 0 && !sendIfEmpty)
        {
            return false;
        }

        Send(new Message
        {
            Type = MessageType.Append,
            From = Id,
            To = to,
            Term = Term,
            Index = prevIndex,
            LogTerm = prevTerm,
            Entries = entries,
            Commit = _log.Committed,
        });
        if (entries.Count > 0)
        {
            pr.SentEntries(entries[^1].Index, entries.Sum(e => e.SizeBytes));
        }
        else if (pr.State == ReplicationState.Probe)
        {
            pr.ProbeSent = true;
        }

        return true;
    }

    private void HandleAppend(Message m)
    {
        if (m.Index < _log.Committed)
        {
            Send(new Message { Type = MessageType.AppendResponse, From = Id, To = m.From, Term = Term, Index = _log.Committed });
            return;
        }

        if (!WellFormedEntries(m))
        {
            return;
        }

        if (_log.MatchTerm(m.Index, m.LogTerm))
        {
            var lastNew = _log.AppendFromLeader(m.Index, m.Entries);
            SyncMembership();
            _log.CommitTo(Math.Min(m.Commit, lastNew));
            Send(new Message { Type = MessageType.AppendResponse, From = Id, To = m.From, Term = Term, Index = lastNew });
            return;
        }

        // Fast back-off (§5.3): point the leader at the last index whose term is no later than the one it
        // expected, so a whole conflicting term is skipped in one round trip.
        var hint = _log.FindConflictByTerm(Math.Min(m.Index, _log.LastIndex), m.LogTerm);
        Send(new Message
        {
            Type = MessageType.AppendResponse,
            From = Id,
            To = m.From,
            Term = Term,
            Index = m.Index,
            Reject = true,
            RejectHint = hint,
            LogTerm = _log.Term(hint) ?? 0,
        });
    }

    // Peer input is not trusted to be well formed: entries must follow the previous index one by one with
    // terms that never decrease and never exceed the sender's.
    private static bool WellFormedEntries(Message m)
    {
        var expectedIndex = m.Index + 1;
        var previousTerm = m.LogTerm;
        foreach (var e in m.Entries)
        {
            if (e is null || e.Index != expectedIndex || e.Term < previousTerm || e.Term > m.Term)
            {
                return false;
            }

            expectedIndex++;
            previousTerm = e.Term;
        }

        return m.Index >= 0 && m.Commit >= 0;
    }

    private void HandleAppendResponse(Message m, Progress pr)
    {
        if (m.Reject)
        {
            var probe = m.LogTerm > 0 ? _log.FindConflictByTerm(m.RejectHint, m.LogTerm) : m.RejectHint;
            if (pr.MaybeDecreaseTo(m.Index, probe))
            {
                if (pr.State == ReplicationState.Replicate)
                {
                    pr.BecomeProbe();
                }

                SendAppends(m.From);
            }

            return;
        }

        if (m.Index > _log.LastIndex || !pr.MaybeUpdate(m.Index))
        {
            return;
        }

        switch (pr.State)
        {
            case ReplicationState.Probe:
                pr.BecomeReplicate();
                break;
            case ReplicationState.Snapshot when pr.Match >= pr.PendingSnapshot:
                pr.BecomeProbe();
                break;
            case ReplicationState.Replicate:
                pr.Inflights.FreeTo(m.Index);
                break;
        }

        if (!MaybeCommitAndBroadcast() && _progress.ContainsKey(m.From))
        {
            SendAppends(m.From);
        }

        if (m.From == LeadTransferee && pr.Match == _log.LastIndex)
        {
            SendTimeoutNow(m.From);
        }
    }

    private void BroadcastHeartbeat()
    {
        var round = StartRound();
        foreach (var (id, pr) in _progress)
        {
            if (id == Id)
            {
                continue;
            }

            Send(new Message
            {
                Type = MessageType.Heartbeat,
                From = Id,
                To = id,
                Term = Term,
                // Only what the follower is known to hold: its log beyond may still diverge.
                Commit = Math.Min(pr.Match, _log.Committed),
                Context = round,
            });
        }
    }

    private void HandleHeartbeat(Message m)
    {
        _log.CommitTo(Math.Min(m.Commit, _log.LastIndex));
        Send(new Message { Type = MessageType.HeartbeatResponse, From = Id, To = m.From, Term = Term, Context = m.Context });
    }

    private void HandleHeartbeatResponse(Message m, Progress pr)
    {
        pr.ProbeSent = false;
        if (pr.State == ReplicationState.Replicate && pr.Inflights.IsFull)
        {
            pr.Inflights.FreeFirst();
        }

        if (pr.State == ReplicationState.Snapshot)
        {
            // A chunk or its answer may have been lost: send the unconfirmed chunk again.
            SendSnapshotChunk(m.From, pr);
        }
        else if (pr.Match < _log.LastIndex)
        {
            SendAppends(m.From);
        }

        AcknowledgeRound(m.From, pr, m.Context);
    }

    // Commits by counting replicas, but only entries of the current term (§5.4.2, Figure 8); earlier entries
    // commit with them. Broadcasts the new commit index when it moved.
    private bool MaybeCommitAndBroadcast()
    {
        var membership = _log.Membership;
        if (Role != RaftRole.Leader || membership.Voters.Count == 0)
        {
            return false;
        }

        // The leader's own copy counts only once durable (Advance): its appends may reach followers before its
        // own write completes. A follower's match comes from its acknowledgement, sent after its own sync. So a
        // quorum of followers may commit an entry the leader has not yet made durable, as in etcd: it is then on
        // a quorum of disks all the same.
        var own = UnsafeCountUnpersistedOwnEntries ? _log.LastIndex : _log.Persisted;
        var matches = membership.Voters
            .Select(v => v == Id ? own : _progress.TryGetValue(v, out var p) ? p.Match : 0)
            .OrderDescending()
            .ToList();
        var quorumIndex = matches[membership.Quorum - 1];
        if (quorumIndex <= _log.Committed
            || (_log.Term(quorumIndex) != Term && !UnsafeCommitEarlierTermsByCounting))
        {
            return false;
        }

        for (var i = _log.Committed + 1; i <= quorumIndex; i++)
        {
            _uncommittedBytes -= _log.EntryAt(i).SizeBytes;
        }

        _uncommittedBytes = Math.Max(0, _uncommittedBytes);
        _log.CommitTo(quorumIndex);
        OnCommitted();
        if (Role == RaftRole.Leader)
        {
            BroadcastAppend();
        }

        return true;
    }

    private void OnCommitted()
    {
        ReleaseReadsAwaitingCommit();
        StepDownIfRemoved();
    }
}
