using Kuorum.Raft;
using Kuorum.Simulation.Linearizability;

namespace Kuorum.Simulation.Simulation;

/// <summary>
/// Runs one seeded schedule of a simulated cluster: faults for a while, then a healed network in which the
/// cluster must settle. Every decision comes from the seed, so a schedule replays exactly.
/// </summary>
public sealed class Simulator
{
    private const int ElectionTicks = 10;
    private const int TraceCapacity = 4000;

    private readonly SimulationOptions _options;
    private readonly SeededRandom _random;
    private readonly SimNetwork _network;
    private readonly SafetyChecker _checker = new();
    private readonly List<SimNode> _nodes;
    private readonly List<KvOperation> _history = [];
    private readonly SimOperation?[] _outstanding;
    private readonly long[] _leaderGuess;
    private readonly long[] _completedSinceSettle;
    private readonly Queue<string> _trace = new();
    private readonly bool _traceMessages;
    private readonly Dictionary<long, SoftState> _lastSoftState = [];
    private readonly HashSet<long> _everMember = [];
    private readonly List<(long Index, long Term, ulong Hash, SimOperation Operation)> _acknowledgedWrites = [];

    private long _now;
    private long _clock;
    private long _nextOperationId;
    private long _settleStart = long.MaxValue;
    private int _elections;

    public Simulator(SimulationOptions options, bool traceMessages = false)
    {
        _options = options;
        _traceMessages = traceMessages;
        _random = new SeededRandom(options.Seed);
        _network = new SimNetwork(new SeededRandom(_random.NextUInt64()))
        {
            DropRate = options.DropRate,
            DuplicateRate = options.DuplicateRate,
            MaxDelay = options.MaxDelay,
        };
        _nodes = Enumerable.Range(1, options.Nodes).Select(i => new SimNode(i)).ToList();
        _everMember.UnionWith(_nodes.Take(options.Founders).Select(n => n.Id));
        _outstanding = new SimOperation?[options.Clients];
        _leaderGuess = new long[options.Clients];
        _completedSinceSettle = new long[options.Clients];
    }

    public IReadOnlyList<KvOperation> History => _history;

    public ScheduleResult Run()
    {
        try
        {
            var founders = _nodes.Take(_options.Founders).Select(n => n.Id).ToList();
            foreach (var node in _nodes)
            {
                node.Raft = founders.Contains(node.Id)
                    ? RaftNode.Bootstrap(NewConfig(node.Id), founders)
                    : new RaftNode(NewConfig(node.Id), RaftStorageState.Empty);
                ApplyBug(node.Raft);
                node.Kv = new KvStateMachine();
            }

            Trace($"start {_options}");
            for (var t = 0; t < _options.FaultTicks; t++)
            {
                Step(faults: true);
            }

            Settle();
            var settled = false;
            for (var t = 0; t < _options.SettleTicks && !settled; t++)
            {
                Step(faults: false);
                settled = IsSettled();
            }

            if (!settled)
            {
                return Result(ScheduleOutcome.LivenessFailure,
                    $"not settled {_options.SettleTicks} ticks after faults stopped: {DescribeCluster()}");
            }

            CheckConverged();
            CheckAcknowledgedWrites();
        }
        catch (SafetyViolationException e)
        {
            return Result(ScheduleOutcome.SafetyViolation, e.Message);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException or KeyNotFoundException or NullReferenceException)
        {
            return Result(ScheduleOutcome.SafetyViolation, $"unexpected {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
        }

        var check = LinearizabilityChecker.Check(_history, TimeSpan.FromSeconds(20));
        return check.IsLinearizable
            ? Result(ScheduleOutcome.Passed, check.TimedOut ? "linearizability check timed out" : "ok", check.TimedOut)
            : Result(ScheduleOutcome.LinearizabilityViolation, check.Explanation);
    }

    private ScheduleResult Result(ScheduleOutcome outcome, string message, bool timedOut = false) =>
        new(_options.Seed, _options, outcome, message, _trace.ToList(), _history.Count(h => !h.IsPending), _elections, timedOut);

    private RaftConfig NewConfig(long id) => new()
    {
        Id = id,
        ElectionTicks = ElectionTicks,
        HeartbeatTicks = 1 + (int)(_options.Seed % 2),
        PreVote = _options.PreVote,
        CheckQuorum = _options.CheckQuorum,
        LeaseTicks = _options.CheckQuorum ? ElectionTicks - 2 : 0,
        // Small limits so batching, pipelining, flow control and chunked snapshots all happen.
        MaxAppendBytes = 128,
        MaxInflightMessages = 4,
        MaxInflightBytes = 1024,
        SnapshotChunkBytes = 64,
        MaxPromotionLag = 8,
        Random = new SeededRandom(_random.NextUInt64()),
    };

    private void ApplyBug(RaftNode raft)
    {
        raft.UnsafeCommitEarlierTermsByCounting = _options.Bug == InjectedBug.CommitEarlierTermsByCounting;
        raft.UnsafeReadsWithoutQuorum = _options.Bug == InjectedBug.ReadsWithoutQuorum;
        raft.UnsafeCountUnpersistedOwnEntries = _options.Bug == InjectedBug.CountUnpersistedOwnEntries;
    }

    private void Step(bool faults)
    {
        _now++;
        if (faults)
        {
            InjectFaults();
        }

        foreach (var message in _network.Due(_now).ToList())
        {
            var target = _nodes[(int)message.To - 1];
            if (target.IsAlive)
            {
                if (_traceMessages)
                {
                    Trace($"deliver {message}");
                }

                target.AliveRaft.Step(message);
            }
        }

        foreach (var node in _nodes.Where(n => n.IsAlive))
        {
            node.AliveRaft.Tick();
        }

        for (var client = 0; client < _options.Clients; client++)
        {
            ActClient(client);
        }

        foreach (var node in _nodes.Where(n => n.IsAlive))
        {
            ProcessReady(node, faults);
        }

        CompleteReads();
    }

    private void InjectFaults()
    {
        if (_random.NextDouble() < _options.CrashRate && _nodes.Where(n => n.IsAlive).ToList() is { Count: > 0 } alive)
        {
            Crash(alive[_random.Next(alive.Count)], "crash");
        }

        if (_random.NextDouble() < _options.LeaderCrashRate
            && _nodes.FirstOrDefault(n => n.IsAlive && n.AliveRaft.Role == RaftRole.Leader) is { } leader)
        {
            Crash(leader, "leader crash");
        }

        foreach (var node in _nodes.Where(n => !n.IsAlive && _random.NextDouble() < _options.RestartRate).ToList())
        {
            Restart(node);
        }

        if (_random.NextDouble() < _options.MembershipChangeRate)
        {
            ChangeMembership();
        }

        if (_network.IsPartitioned && _random.NextDouble() < _options.HealRate)
        {
            _network.Heal();
            Trace("network healed");
        }
        else if (!_network.IsPartitioned && _random.NextDouble() < _options.PartitionRate)
        {
            Partition();
        }
    }

    private void Partition()
    {
        var ids = _nodes.Select(n => n.Id).ToList();
        var leader = _nodes.FirstOrDefault(n => n.IsAlive && n.AliveRaft.Role == RaftRole.Leader);
        switch (_random.Next(4))
        {
            case 0 when leader is not null:
                _network.Isolate(leader.Id, ids);
                break;
            case 1:
                var minority = ids.OrderBy(_ => _random.NextUInt64()).Take(1 + _random.Next(ids.Count / 2)).ToHashSet();
                foreach (var a in minority)
                {
                    foreach (var b in ids.Where(b => !minority.Contains(b)))
                    {
                        _network.CutBoth(a, b);
                    }
                }

                break;
            case 2:
                // One way: a node can hear but not be heard (or the reverse).
                var node = ids[_random.Next(ids.Count)];
                var outgoing = _random.Next(2) == 0;
                foreach (var other in ids.Where(o => o != node))
                {
                    if (outgoing)
                    {
                        _network.Cut(node, other);
                    }
                    else
                    {
                        _network.Cut(other, node);
                    }
                }

                break;
            default:
                var x = ids[_random.Next(ids.Count)];
                var y = ids.Where(i => i != x).ElementAt(_random.Next(ids.Count - 1));
                _network.CutBoth(x, y);
                break;
        }

        Trace($"partition: {_network.DescribeCuts()}");
    }

    // One step of a rolling membership change, asked of the current leader: promote a learner, else add a node
    // that never was a member, else remove a voter (possibly the leader itself) while more than three remain.
    // Removed ids are never reused.
    private void ChangeMembership()
    {
        if (_nodes.FirstOrDefault(n => n.IsAlive && n.AliveRaft.Role == RaftRole.Leader) is not { } leaderNode)
        {
            return;
        }

        var leader = leaderNode.AliveRaft;
        var membership = leader.Membership;
        ConfChange change;
        if (!membership.Learners.IsEmpty)
        {
            change = new ConfChange(ConfChangeType.PromoteLearner, membership.Learners[0]);
        }
        else if (_nodes.FirstOrDefault(n => !_everMember.Contains(n.Id) && !membership.Contains(n.Id)) is { } spare)
        {
            change = new ConfChange(ConfChangeType.AddLearner, spare.Id);
        }
        else if (membership.Voters.Count > 3)
        {
            change = new ConfChange(ConfChangeType.RemoveMember, membership.Voters[_random.Next(membership.Voters.Count)]);
        }
        else
        {
            return;
        }

        var result = leader.ProposeConfChange(change);
        if (result.IsAccepted)
        {
            _everMember.Add(change.NodeId);
        }

        Trace($"n{leaderNode.Id} proposes {change}: {result.Status}{(result.Error is null ? "" : $" ({result.Error})")}");
    }

    private void Crash(SimNode node, string why)
    {
        var lost = node.Persisting is { } pending
            ? $"; a Ready being persisted is lost: {pending.Entries.Count} entries{(pending.HardState is { } h ? $", {h}" : "")}"
            : "";
        Trace($"n{node.Id} {why} (disk: last {node.Disk.LastIndex}, snapshot {node.Disk.Snapshot.Index}, {node.Disk.HardState}{lost})");
        node.Raft = null;
        node.Kv = null;
        node.Disk.Unsynced = null;
        node.Persisting = null;
        _lastSoftState.Remove(node.Id);
    }

    private void Restart(SimNode node)
    {
        var state = node.Disk.Load();
        // A lone founder that crashed before persisting anything has no one to learn the founding membership from:
        // it bootstraps again, as the agent does on a fresh data directory. (Other founders restart empty and learn
        // it from the leader, which exercises that path.)
        node.Raft = _options.Founders == 1 && node.Id == 1 && node.Disk.IsEmpty
            ? RaftNode.Bootstrap(NewConfig(node.Id), [node.Id])
            : new RaftNode(NewConfig(node.Id), state);
        ApplyBug(node.Raft);
        node.Kv = new KvStateMachine();
        node.Kv.Restore(state.Snapshot.Index, node.Disk.SnapshotData);
        Trace($"n{node.Id} restart at term {state.HardState.Term}, last {node.Disk.LastIndex}, snapshot {state.Snapshot.Index}");
    }

    internal enum CrashPoint
    {
        None,

        // Nothing of the Ready left the node.
        BeforeAnything,

        // The immediate messages are on the wire; nothing of the Ready is durable.
        AfterImmediateMessages,
        AfterEntries,
        BeforeSend,
        BeforeApply,
    }

    // One node's Ready loop, as the agent runs it: send the immediate messages, persist, send the rest, apply,
    // Advance. Sometimes the disk is slow: the write completes some ticks later, and meanwhile the node keeps
    // receiving messages, ticking and taking proposals (what they produce waits for the next Ready), while its
    // immediate messages reach the followers and their answers come back; a crash in between loses the write.
    private void ProcessReady(SimNode node, bool faults)
    {
        while (node.IsAlive)
        {
            if (node.Persisting is { } persisting)
            {
                if (_now < node.PersistedAt)
                {
                    return;
                }

                node.Persisting = null;
                if (!FinishReady(node, persisting, faults ? node.PersistingCrash : CrashPoint.None))
                {
                    return;
                }

                continue;
            }

            var raft = node.AliveRaft;
            if (!raft.HasReady)
            {
                return;
            }

            var ready = raft.GetReady();
            var crash = faults && _random.NextDouble() < _options.CrashDuringReadyRate
                ? (CrashPoint)(1 + _random.Next(5))
                : CrashPoint.None;
            if (ready.SoftState is { } soft)
            {
                ObserveSoftState(node, soft, raft.Term);
            }

            if (crash == CrashPoint.BeforeAnything)
            {
                Crash(node, "crash before sending or persisting a ready");
                return;
            }

            foreach (var message in ready.ImmediateMessages)
            {
                _network.Send(message, _now);
            }

            if (crash == CrashPoint.AfterImmediateMessages)
            {
                Crash(node, $"crash after sending {ready.ImmediateMessages.Count} immediate messages, before persisting");
                return;
            }

            if (_options.SlowDiskRate > 0 && _random.NextDouble() < _options.SlowDiskRate)
            {
                node.Persisting = ready;
                node.PersistedAt = _now + 1 + _random.Next(_options.MaxDiskTicks);
                node.PersistingCrash = crash;
                return;
            }

            if (!FinishReady(node, ready, crash))
            {
                return;
            }
        }
    }

    // Persists a Ready, sends its other messages, applies and advances; false if the node crashed on the way.
    private bool FinishReady(SimNode node, Ready ready, CrashPoint crash)
    {
        var raft = node.AliveRaft;
        if (raft.Role == RaftRole.Leader && raft.CommitIndex > node.Disk.LastIndex)
        {
            Trace($"n{node.Id} committed up to {raft.CommitIndex} on its followers' copies while its own write (up to {node.Disk.LastIndex} durable) was in flight");
        }

        if (ready.Snapshot is { } snapshot)
        {
            node.Disk.InstallSnapshot(snapshot.Metadata, snapshot.Data.ToArray());
            Trace($"n{node.Id} installs {snapshot.Metadata}");
        }

        node.Disk.Append(ready.Entries);
        _checker.ObserveLog(node.Id, node.Disk, ready.Entries);
        if (crash == CrashPoint.AfterEntries)
        {
            Crash(node, "crash after persisting entries, before the hard state");
            return false;
        }

        if (ready.MustSync && node.Disk.Unsynced is { } pending)
        {
            // A synced write makes an earlier unsynced one durable too.
            node.Disk.HardState = pending;
            node.Disk.Unsynced = null;
        }

        if (ready.HardState is { } hard)
        {
            var written = _options.Bug == InjectedBug.VoteNotPersisted ? hard with { Vote = RaftNode.None } : hard;
            if (ready.MustSync)
            {
                node.Disk.HardState = written;
            }
            else
            {
                node.Disk.Unsynced = written;
            }
        }

        if (crash == CrashPoint.BeforeSend)
        {
            Crash(node, "crash after persisting, before sending");
            return false;
        }

        foreach (var message in ready.Messages)
        {
            _network.Send(message, _now);
        }

        if (crash == CrashPoint.BeforeApply)
        {
            Crash(node, "crash after sending, before applying");
            return false;
        }

        if (ready.Snapshot is { } installed)
        {
            node.AliveKv.Restore(installed.Metadata.Index, installed.Data);
        }

        foreach (var entry in ready.CommittedEntries)
        {
            _checker.ObserveApplied(node.Id, entry);
            var applied = node.AliveKv.Apply(entry);
            OnApplied(node, entry, applied);
        }

        raft.Advance(ready);
        foreach (var read in ready.ReadStates)
        {
            OnReadState(node, read);
        }

        if (raft.Role == RaftRole.Leader)
        {
            _checker.ObserveRole(node.Id, RaftRole.Leader, raft.Term);
            _checker.CheckLeaderCompleteness(node.Id, raft.Term, node.Disk);
            _checker.ObserveLeaderCommit(node.Id, raft.Term, raft.CommitIndex, node.Disk);
        }

        MaybeCompact(node);
        return true;
    }

    private void ObserveSoftState(SimNode node, SoftState soft, long term)
    {
        if (_lastSoftState.TryGetValue(node.Id, out var last) && last == soft)
        {
            return;
        }

        _lastSoftState[node.Id] = soft;
        if (soft.Role == RaftRole.Leader)
        {
            _elections++;
        }

        _checker.ObserveRole(node.Id, soft.Role, term);
        Trace($"n{node.Id} {soft.Role} term {term} (leader {soft.LeaderId})");
    }

    private void MaybeCompact(SimNode node)
    {
        var kv = node.AliveKv;
        // Not while a snapshot the node received (while its disk was busy) waits to be installed: the core's log
        // already starts there, the state machine not yet.
        if (kv.AppliedIndex - node.Disk.Snapshot.Index < _options.CompactEvery || kv.AppliedIndex != node.AliveRaft.AppliedIndex)
        {
            return;
        }

        var data = kv.Snapshot();
        var metadata = node.AliveRaft.Compact(kv.AppliedIndex, new ByteArraySnapshotReader(data));
        node.Disk.Compact(metadata, data);
        Trace($"n{node.Id} compacts to {metadata.Index}");
    }

    private void ActClient(int client)
    {
        var operation = _outstanding[client];
        if (operation is null && _completedSinceSettle[client] > 0)
        {
            // Once settling, each client needs one completed operation; then it stops so the cluster can quiesce.
            return;
        }

        if (operation is null)
        {
            operation = _outstanding[client] = NewOperation(client);
            Trace($"call {operation}");
        }

        if (_now - operation.StartTick > _options.OperationTimeout)
        {
            // The client gives up. A write that a leader accepted may still take effect: its outcome is
            // unknown. A read, or a request never accepted, had no effect.
            if (operation.IsWrite && operation.Accepted)
            {
                _history.Add(operation.Abandon());
            }

            Trace($"timeout {operation}");
            _outstanding[client] = null;
            return;
        }

        if (operation.Accepted)
        {
            return;
        }

        var target = PickNode(client, operation);
        if (target is null)
        {
            return;
        }

        var raft = target.AliveRaft;
        var result = operation.IsWrite
            ? raft.Propose(operation.ToCommand().Encode())
            : raft.ReadIndex(operation.Id, operation.Consistency);
        if (result.IsAccepted)
        {
            operation.Node = target.Id;
            operation.ProposedIndex = operation.IsWrite ? result.Index : 0;
        }
        else
        {
            _leaderGuess[client] = result.LeaderHint;
        }
    }

    private SimNode? PickNode(int client, SimOperation operation)
    {
        var alive = _nodes.Where(n => n.IsAlive).ToList();
        if (alive.Count == 0)
        {
            return null;
        }

        // Reads sometimes go to any node, to exercise ReadIndex forwarding from followers.
        if (!operation.IsWrite && _random.Next(4) == 0)
        {
            return alive[_random.Next(alive.Count)];
        }

        var guess = _leaderGuess[client];
        return alive.FirstOrDefault(n => n.Id == guess) ?? alive[_random.Next(alive.Count)];
    }

    private SimOperation NewOperation(int client)
    {
        var id = ++_nextOperationId;
        var key = $"k{_random.Next(_options.Keys)}";
        var kind = _random.Next(10) switch
        {
            < 4 => KvOperationKind.Put,
            < 6 => KvOperationKind.CompareAndSwap,
            _ => KvOperationKind.Get,
        };
        string? expected = null;
        if (kind == KvOperationKind.CompareAndSwap)
        {
            // Expect a value the key plausibly holds, so some swaps succeed.
            var current = _nodes.FirstOrDefault(n => n.IsAlive)?.Kv?.Get(key);
            expected = _random.Next(3) == 0 ? null : current;
        }

        return new SimOperation
        {
            Id = id,
            ClientId = client,
            Kind = kind,
            Key = key,
            Value = kind == KvOperationKind.Get ? null : $"v{id}",
            Expected = expected,
            CallTime = ++_clock,
            StartTick = _now,
            Consistency = _random.Next(2) == 0 ? ReadConsistency.Linearizable : ReadConsistency.Lease,
        };
    }

    private void OnApplied(SimNode node, Entry entry, (KvCommand Command, bool Applied)? applied)
    {
        for (var client = 0; client < _options.Clients; client++)
        {
            var operation = _outstanding[client];
            if (operation is not { IsWrite: true, Accepted: true } || operation.Node != node.Id || operation.ProposedIndex != entry.Index)
            {
                continue;
            }

            if (applied is { } a && a.Command.OperationId == operation.Id)
            {
                _acknowledgedWrites.Add((entry.Index, entry.Term, SafetyChecker.Hash(entry), operation));
                Finish(client, operation.Complete(++_clock, null, a.Applied), $"return {operation} -> {(a.Applied ? "ok" : "cas failed")} at {entry.Index}");
            }
            else
            {
                // Another entry was committed at this index: the proposal was overwritten and never takes effect.
                Trace($"lost {operation} (index {entry.Index} holds another entry)");
                _outstanding[client] = null;
            }
        }
    }

    private void OnReadState(SimNode node, ReadState read)
    {
        foreach (var operation in _outstanding)
        {
            if (operation is { IsWrite: false } && operation.Id == read.Context && operation.Node == node.Id)
            {
                operation.ReadIndex = read.Index;
            }
        }
    }

    private void CompleteReads()
    {
        for (var client = 0; client < _options.Clients; client++)
        {
            var operation = _outstanding[client];
            if (operation is not { IsWrite: false, ReadIndex: { } index })
            {
                continue;
            }

            var node = _nodes[(int)operation.Node - 1];
            if (!node.IsAlive)
            {
                continue;
            }

            var kv = node.AliveKv;
            if (kv.AppliedIndex >= index)
            {
                var value = kv.Get(operation.Key);
                Finish(client, operation.Complete(++_clock, value, true), $"return {operation} -> {value ?? "absent"} (n{node.Id} read index {index})");
            }
        }
    }

    private void Finish(int client, KvOperation completed, string trace)
    {
        _history.Add(completed);
        Trace(trace);
        if (completed.CallTime > _settleStart)
        {
            _completedSinceSettle[client]++;
        }

        _outstanding[client] = null;
    }

    private void Settle()
    {
        _network.Heal();
        _network.DropRate = 0;
        _network.DuplicateRate = 0;
        foreach (var node in _nodes.Where(n => !n.IsAlive))
        {
            Restart(node);
        }

        _settleStart = ++_clock;
        Trace("faults stop: network healed, every node up");
    }

    private bool IsSettled()
    {
        var leaders = _nodes.Where(n => n.AliveRaft.Role == RaftRole.Leader).ToList();
        if (leaders.Count != 1)
        {
            return false;
        }

        var leader = leaders[0].AliveRaft;
        return Members().All(n => n.AliveRaft.LeaderId == leader.Id && n.AliveRaft.Term == leader.Term
                && n.AliveKv.AppliedIndex == leader.LastIndex && leader.CommitIndex == leader.LastIndex)
            && _completedSinceSettle.All(c => c > 0);
    }

    // The nodes in the leader's membership; nodes never added, or removed, hold no obligations.
    private List<SimNode> Members()
    {
        var leader = _nodes.Single(n => n.AliveRaft.Role == RaftRole.Leader).AliveRaft;
        return _nodes.Where(n => leader.Membership.Contains(n.Id)).ToList();
    }

    // No acknowledged write lost: every write a client saw succeed is, after settling, the entry every node
    // applied at its index.
    private void CheckAcknowledgedWrites()
    {
        foreach (var (index, term, hash, operation) in _acknowledgedWrites)
        {
            if (_checker.AppliedAt(index) != (term, hash))
            {
                throw new SafetyViolationException($"acknowledged write lost: {operation} was applied at {index}/{term}, which now holds another entry");
            }

            if (Members().FirstOrDefault(n => n.AliveKv.AppliedIndex < index) is { } behind)
            {
                throw new SafetyViolationException($"acknowledged write lost: {operation} at {index} is not applied on n{behind.Id} after settling");
            }
        }
    }

    private void CheckConverged()
    {
        var states = Members().Select(n => n.AliveKv.Describe()).Distinct().ToList();
        if (states.Count != 1)
        {
            throw new SafetyViolationException($"state machines diverged after settling: {string.Join(" | ", states)}");
        }
    }

    private string DescribeCluster() => string.Join("; ", _nodes.Select(n =>
    {
        var r = n.AliveRaft;
        return $"n{n.Id} {r.Role} t{r.Term} leader {r.LeaderId} commit {r.CommitIndex} applied {n.AliveKv.AppliedIndex} last {r.LastIndex} {r.Membership}";
    })) + $"; completed since settle [{string.Join(",", _completedSinceSettle)}]";

    private void Trace(string line)
    {
        if (_trace.Count == TraceCapacity)
        {
            _trace.Dequeue();
        }

        _trace.Enqueue($"t={_now} {line}");
    }
}
