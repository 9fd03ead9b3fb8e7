using Grpc.Core;
using Kuorum.Raft;
using Kuorum.Storage.StateMachine;

namespace Kuorum.Agent.Node;

// What services ask of the node: writes (proposed here or forwarded to the leader), reads at a chosen consistency,
// leadership and membership changes, snapshots. Each posts work to the loop and awaits its outcome.
public sealed partial class RaftHost
{
    private const int RecentResults = 4096;
    private readonly (long Index, long Term, ApplyResult? Result)[] _recent = new (long, long, ApplyResult?)[RecentResults];
    private TaskCompletionSource<SnapshotMetadata>? _snapshotRequest;

    /// <summary>
    /// Proposes a command and returns what applying it did. On a follower the command goes to the leader, which
    /// answers where it placed it; the follower then waits until it applies that entry itself and reads the outcome
    /// from its own state machine. Retries while there is no leader or a transfer is under way, until
    /// <paramref name="cancellationToken"/> fires.
    /// </summary>
    public async Task<ApplyResult> ProposeAsync(KvCommand command, CancellationToken cancellationToken)
    {
        var data = command.Encode();
        var started = _time.GetTimestamp();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var leadership = LeadershipChanged.Next;
            var completion = new TaskCompletionSource<ApplyResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            var outcome = await InvokeAsync(() =>
            {
                var result = _node.Propose(data);
                if (result.IsAccepted)
                {
                    Await(result.Index, result.Term, completion, started);
                }

                return result;
            }).ConfigureAwait(false);

            switch (outcome.Status)
            {
                case ProposalStatus.Accepted:
                    return await WithCancellation(completion, cancellationToken).ConfigureAwait(false);
                case ProposalStatus.NotLeader when outcome.LeaderHint != RaftNode.None:
                    var forwarded = await _transport.TryProposeAsync(outcome.LeaderHint, data, cancellationToken).ConfigureAwait(false);
                    if (forwarded is { } placed)
                    {
                        return await WaitAppliedAsync(placed.Index, placed.Term, started, cancellationToken).ConfigureAwait(false);
                    }

                    await Task.WhenAny(leadership, Task.Delay(_options.HeartbeatInterval, _time, cancellationToken)).ConfigureAwait(false);
                    break;
                case ProposalStatus.NotLeader:
                    await Task.WhenAny(leadership, Task.Delay(_options.ElectionTimeout, _time, cancellationToken)).ConfigureAwait(false);
                    break;
                case ProposalStatus.Invalid:
                    throw new AgentException(StatusCode.InvalidArgument, outcome.Error ?? "the proposal is invalid");
                default:
                    // Busy, overloaded or transferring: a moment later it will take it.
                    await Task.Delay(_options.HeartbeatInterval / 2, _time, cancellationToken).ConfigureAwait(false);
                    break;
            }
        }
    }

    /// <summary>For the peer service: proposes a forwarded command on this node, which must lead; returns where it went.</summary>
    public async Task<(long Index, long Term)> ProposeAsLeaderAsync(ReadOnlyMemory<byte> data)
    {
        var result = await InvokeAsync(() => _node.Propose(data)).ConfigureAwait(false);
        return result.Status switch
        {
            ProposalStatus.Accepted => (result.Index, result.Term),
            ProposalStatus.Invalid => throw new AgentException(StatusCode.InvalidArgument, result.Error ?? "invalid proposal"),
            ProposalStatus.NotLeader => throw new NotLeaderException(result.LeaderHint, result.Error ?? "not the leader"),
            _ => throw new AgentException(StatusCode.Unavailable, result.Error ?? result.Status.ToString()),
        };
    }

    /// <summary>Waits until entry (<paramref name="index"/>, <paramref name="term"/>) is applied here and returns its outcome.</summary>
    public async Task<ApplyResult> WaitAppliedAsync(long index, long term, long startedAt, CancellationToken cancellationToken)
    {
        var completion = new TaskCompletionSource<ApplyResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        await InvokeAsync(() =>
        {
            Await(index, term, completion, startedAt);
            return true;
        }).ConfigureAwait(false);
        return await WithCancellation(completion, cancellationToken).ConfigureAwait(false);
    }

    // On the loop: registers a waiter for (index, term), or answers at once when the entry was applied recently.
    private void Await(long index, long term, TaskCompletionSource<ApplyResult> completion, long startedAt)
    {
        if (index <= _node.AppliedIndex)
        {
            var recent = _recent[index % RecentResults];
            if (recent.Index == index && recent.Result is { } result)
            {
                if (recent.Term == term)
                {
                    completion.TrySetResult(result);
                }
                else
                {
                    completion.TrySetException(LostWrite(index, recent.Term, term));
                }
            }
            else
            {
                completion.TrySetException(new AgentException(StatusCode.Unavailable,
                    $"entry {index} was applied too long ago here to know its outcome; read the key to find out"));
            }

            return;
        }

        if (!_proposals.TryGetValue(index, out var waiters))
        {
            _proposals[index] = waiters = [];
        }

        waiters.Add(new Waiter(term, completion, startedAt));
    }

    // The entry at a write's index holds another term: the write was lost with a leadership change, never applied.
    private static AgentException LostWrite(long index, long entryTerm, long writeTerm) => new(StatusCode.Unavailable,
        $"leadership changed before the write committed (entry {index} holds term {entryTerm}, the write had term {writeTerm}); it was not applied, retry it");

    private void Remember(Entry entry, ApplyResult result) => _recent[entry.Index % RecentResults] = (entry.Index, entry.Term, result);

    /// <summary>
    /// Runs <paramref name="read"/> on the state machine once it reflects every write acknowledged before the call:
    /// by ReadIndex (<see cref="ReadConsistency.Linearizable"/>), by the leader's lease, or (null) at once on whatever
    /// is applied here.
    /// </summary>
    public async Task<T> ReadAsync<T>(ReadConsistency? consistency, Func<KvStateMachine, T> read, CancellationToken cancellationToken)
    {
        if (consistency is not { } level)
        {
            return await InvokeAsync(() => read(_storage.Machine)).ConfigureAwait(false);
        }

        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var leadership = LeadershipChanged.Next;
            var index = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            var context = 0L;
            var asked = await InvokeAsync(() =>
            {
                context = ++_nextReadContext;
                var result = _node.ReadIndex(context, level);
                if (result.IsAccepted)
                {
                    _reads[context] = index;
                }

                return result;
            }).ConfigureAwait(false);

            if (!asked.IsAccepted)
            {
                // No leader yet: wait for one.
                await Task.WhenAny(leadership, Task.Delay(_options.ElectionTimeout, _time, cancellationToken)).ConfigureAwait(false);
                continue;
            }

            // The answer is lost if leadership changes on the way: ask again after a while.
            var answered = await Task.WhenAny(index.Task, Task.Delay(_options.ElectionTimeout * 2, _time, cancellationToken)).ConfigureAwait(false);
            if (answered != index.Task)
            {
                await InvokeAsync(() => _reads.Remove(context)).ConfigureAwait(false);
                continue;
            }

            var readIndex = await index.Task.ConfigureAwait(false);
            var value = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            Post(() =>
            {
                void Run()
                {
                    try
                    {
                        value.TrySetResult(read(_storage.Machine));
                    }
                    catch (Exception e)
                    {
                        value.TrySetException(e);
                    }
                }

                if (_node.AppliedIndex >= readIndex)
                {
                    Run();
                }
                else
                {
                    _afterApply.Enqueue(Run, readIndex);
                }
            }, value);
            return await WithCancellation(value, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Renews leases; on a follower, at the leader. Returns each lease's TTL in milliseconds (0: no such lease).</summary>
    public async Task<long[]> KeepAliveAsync(IReadOnlyList<long> leases, bool peek, CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var leadership = LeadershipChanged.Next;
            var local = await InvokeAsync(() => _node.Role != RaftRole.Leader ? null
                : leases.Select(id => peek ? _leases.Remaining(id) : _leases.KeepAlive(id, _storage.Machine)).ToArray()).ConfigureAwait(false);
            if (local is not null)
            {
                return local;
            }

            var leader = View.LeaderId;
            if (leader != RaftNode.None && leader != _options.NodeId
                && await _transport.TryKeepAliveAsync(leader, leases, peek, cancellationToken).ConfigureAwait(false) is { } remote)
            {
                return remote;
            }

            await Task.WhenAny(leadership, Task.Delay(_options.ElectionTimeout, _time, cancellationToken)).ConfigureAwait(false);
        }
    }

    /// <summary>Asks this node, which must lead, to hand leadership over, and waits until another node leads or the time is up.</summary>
    public async Task<NodeView> TransferLeadershipAsync(long target, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var leadership = LeadershipChanged.Next;
        var result = await InvokeAsync(() => _node.TransferLeadership(target)).ConfigureAwait(false);
        switch (result.Status)
        {
            case ProposalStatus.Accepted:
                break;
            case ProposalStatus.NotLeader:
                throw new NotLeaderException(result.LeaderHint, result.Error ?? "not the leader");
            case ProposalStatus.Invalid:
                throw new AgentException(StatusCode.FailedPrecondition, result.Error ?? "cannot transfer leadership");
            default:
                throw new AgentException(StatusCode.Unavailable, result.Error ?? result.Status.ToString());
        }

        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        try
        {
            while (View.LeaderId == _options.NodeId || View.LeaderId == RaftNode.None)
            {
                await leadership.WaitAsync(timer.Token).ConfigureAwait(false);
                leadership = LeadershipChanged.Next;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Time is up: report whoever leads now.
        }

        return View;
    }

    /// <summary>Proposes a membership change on this node (which must lead) and waits until it is applied here.</summary>
    public async Task ChangeMembershipAsync(ConfChange change, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        while (true)
        {
            var completion = new TaskCompletionSource<ApplyResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            var result = await InvokeAsync(() =>
            {
                var proposal = _node.ProposeConfChange(change);
                if (proposal.IsAccepted)
                {
                    Await(proposal.Index, proposal.Term, completion, started);
                }

                return proposal;
            }).ConfigureAwait(false);
            switch (result.Status)
            {
                case ProposalStatus.Accepted:
                    await WithCancellation(completion, cancellationToken).ConfigureAwait(false);
                    return;
                case ProposalStatus.NotLeader:
                    throw new NotLeaderException(result.LeaderHint, result.Error ?? "not the leader");
                case ProposalStatus.Invalid:
                    throw new AgentException(StatusCode.FailedPrecondition, result.Error ?? "invalid membership change");
                case ProposalStatus.Busy when change.Type == ConfChangeType.PromoteLearner && result.Error?.Contains("caught up", StringComparison.Ordinal) == true:
                    throw new AgentException(StatusCode.FailedPrecondition, result.Error);
                default:
                    await Task.Delay(_options.HeartbeatInterval, _time, cancellationToken).ConfigureAwait(false);
                    break;
            }
        }
    }

    /// <summary>Snapshots the state machine now and compacts the log below it.</summary>
    public async Task<SnapshotMetadata> SnapshotAsync(CancellationToken cancellationToken)
    {
        var completion = await InvokeAsync(() =>
        {
            _snapshotRequest ??= new TaskCompletionSource<SnapshotMetadata>(TaskCreationOptions.RunContinuationsAsynchronously);
            return _snapshotRequest;
        }).ConfigureAwait(false);

        // Wake the loop so it reaches its snapshot check.
        _inbox.Writer.TryWrite(static () => { });
        return await WithCancellation(completion, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// For a graceful stop: when this node leads and another voter exists, hands leadership to the most caught-up
    /// voter and waits (up to <paramref name="timeout"/>) until another node leads.
    /// </summary>
    public async Task HandOverAsync(TimeSpan timeout)
    {
        var view = View;
        if (!view.IsLeader || view.Membership.Voters.Count < 2 || timeout <= TimeSpan.Zero || _fault is not null)
        {
            return;
        }

        try
        {
            var started = _time.GetTimestamp();
            var after = await TransferLeadershipAsync(RaftNode.None, timeout, CancellationToken.None).ConfigureAwait(false);
            if (after.LeaderId != _options.NodeId && after.LeaderId != RaftNode.None)
            {
                _logger.LogInformation("stopping: handed leadership to {Leader} in {Milliseconds:F0} ms", after.LeaderId, _time.GetElapsedTime(started).TotalMilliseconds);
            }
            else
            {
                _logger.LogWarning("stopping: no voter took over leadership within {Milliseconds:F0} ms; stopping anyway (the others elect a leader)", timeout.TotalMilliseconds);
            }
        }
        catch (AgentException e)
        {
            _logger.LogWarning("stopping without handing over leadership: {Reason}", e.Message);
        }
    }

    private static async Task<T> WithCancellation<T>(TaskCompletionSource<T> completion, CancellationToken cancellationToken)
    {
        await using (cancellationToken.Register(static state => ((TaskCompletionSource<T>)state!).TrySetCanceled(), completion).ConfigureAwait(false))
        {
            return await completion.Task.ConfigureAwait(false);
        }
    }
}
