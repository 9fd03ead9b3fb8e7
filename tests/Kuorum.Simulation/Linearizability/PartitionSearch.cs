using System.Diagnostics;

namespace Kuorum.Simulation.Linearizability;

/// <summary>
/// Lowe's just-in-time linearization search, as used by Porcupine, over the history of a single
/// register. Call and return events sit in a doubly linked list in time order; the search
/// repeatedly linearizes the earliest call the model accepts (lifting it and its return out of
/// the list), and backtracks when it reaches a return whose call has not been linearized. A memo
/// of (linearized set, state) pairs prunes configurations that were already explored.
/// </summary>
/// <remarks>
/// Pending operations are optional and concurrent with everything after their call, which makes
/// the search exponential in their number. Two sound reductions keep that in check.
/// <list type="bullet">
/// <item>A pending write of a value nobody else writes that a completed operation observed must
/// have taken effect before that observer returned, so it becomes mandatory with that return time.</item>
/// <item>Values no operation can observe (no Get reads them, no swap expects them) are all the same
/// to the model, so they share one state, "unobservable". In that state every completed Get and
/// successful swap is impossible, so writing it only ever helps a completed failed swap whose
/// expected value is the current state. A pending write of an unobservable value (an "enabler") is
/// therefore only placed directly before such a swap, as one step, and of the enablers available
/// the least flexible kind is used: a pending swap expecting the current state, else a pending Put.
/// Any linearization can be rearranged into that form.</item>
/// </list>
/// </remarks>
internal sealed class PartitionSearch
{
    public enum Verdict
    {
        Linearizable,
        NotLinearizable,
        TimedOut,
    }

    /// <summary>
    /// The verdict plus, on failure, the deepest linearization reached (indices into the
    /// operations), the value it leaves, and the unplaced operations that could have come next.
    /// </summary>
    public sealed record Outcome(
        Verdict Verdict,
        IReadOnlyList<int> LongestPrefix,
        string? StateAfterPrefix,
        IReadOnlyList<int> NextCandidates);

    // Deadline checks read the clock, so only do it every this many (power of two) search steps.
    private const int ClockCheckInterval = 1024;

    // Model states are interned values; 0 and 1 are reserved.
    private const int Absent = 0;
    private const int Unobservable = 1;

    private readonly IReadOnlyList<KvOperation> _operations;
    private readonly ModelOp[] _ops;
    private readonly long[] _returnTimes;
    private readonly ulong[] _opHashes;
    private readonly int[] _next;
    private readonly int[] _prev;
    private readonly int _head;
    private readonly int _mandatoryCount;

    /// <param name="operations">One key's operations; pending Gets must already be removed.</param>
    public PartitionSearch(IReadOnlyList<KvOperation> operations)
    {
        _operations = operations;
        var n = operations.Count;
        var observable = new HashSet<string>(StringComparer.Ordinal);
        var writerCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        var firstObserved = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var op in operations)
        {
            if (op is { Kind: KvOperationKind.Get, ReturnTime: { } readAt, Output: { } read })
            {
                observable.Add(read);
                NoteObservation(read, readAt);
            }

            if (op is { Kind: KvOperationKind.CompareAndSwap, Expected: { } expected })
            {
                observable.Add(expected);
                if (op is { ReturnTime: { } swappedAt, Succeeded: true })
                {
                    NoteObservation(expected, swappedAt);
                }
            }

            if (op is { Kind: not KvOperationKind.Get, Value: { } written })
            {
                writerCounts[written] = writerCounts.GetValueOrDefault(written) + 1;
            }
        }

        var valueIds = new Dictionary<string, int>(StringComparer.Ordinal);
        _ops = new ModelOp[n];
        _returnTimes = new long[n];
        _opHashes = new ulong[n];
        for (var i = 0; i < n; i++)
        {
            var op = operations[i];
            var pending = op.IsPending;
            var returnTime = op.ReturnTime ?? long.MaxValue;
            var succeeded = op.Succeeded;
            if (pending
                && op is { Kind: not KvOperationKind.Get, Value: { } value }
                && writerCounts[value] == 1
                && firstObserved.TryGetValue(value, out var observedAt))
            {
                // The only writer of an observed value took effect (successfully, if a swap)
                // before its first observer returned; the clamp keeps the event list well formed
                // when the observer returned before this call, which the search then rejects.
                pending = false;
                returnTime = Math.Max(op.CallTime, observedAt);
                succeeded = true;
            }

            var newValue = Intern(op.Value);
            _ops[i] = new ModelOp(
                op.Kind,
                newValue,
                Intern(op.Expected),
                Intern(op.Output),
                succeeded,
                pending,
                pending && newValue == Unobservable);
            _returnTimes[i] = returnTime;
            _opHashes[i] = Mix((ulong)i + 1);
            if (!pending)
            {
                _mandatoryCount++;
            }
        }

        // Node i is the call of operation i and node n + i its return; node 2n is the list head.
        var order = new int[2 * n];
        for (var node = 0; node < order.Length; node++)
        {
            order[node] = node;
        }

        // Calls sort before returns at equal times, so operations touching at one instant overlap;
        // pending returns (time +infinity) come last.
        Array.Sort(order, (a, b) =>
        {
            var (timeA, rankA) = SortKey(a);
            var (timeB, rankB) = SortKey(b);
            var byTime = timeA.CompareTo(timeB);
            return byTime != 0 ? byTime : rankA != rankB ? rankA.CompareTo(rankB) : a.CompareTo(b);
        });

        _head = 2 * n;
        _next = new int[2 * n + 1];
        _prev = new int[2 * n + 1];
        var previous = _head;
        foreach (var node in order)
        {
            _next[previous] = node;
            _prev[node] = previous;
            previous = node;
        }

        _next[previous] = -1;

        void NoteObservation(string value, long at) =>
            firstObserved[value] = Math.Min(at, firstObserved.GetValueOrDefault(value, long.MaxValue));

        int Intern(string? value)
        {
            if (value is null)
            {
                return Absent;
            }

            if (!observable.Contains(value))
            {
                return Unobservable;
            }

            if (!valueIds.TryGetValue(value, out var id))
            {
                id = valueIds.Count + 2;
                valueIds.Add(value, id);
            }

            return id;
        }
    }

    public Outcome Run(long deadlineTimestamp)
    {
        var n = _ops.Length;
        var linearized = new ulong[Math.Max(1, (n + 63) >> 6)];
        var visited = new VisitedSet(linearized.Length);

        // One frame per search step: the operation placed, the enabler placed just before it (or
        // -1), and the state before both.
        var stackOps = new int[n];
        var stackEnablers = new int[n];
        var stackStates = new int[n];
        var depth = 0;

        // The deepest stack seen, kept for the failure explanation. The stack only changes at its
        // top, so best[0..agreed) is known to equal the stack and only the rest is copied.
        var bestOps = new int[n];
        var bestEnablers = new int[n];
        var bestDepth = 0;
        var agreed = 0;

        var state = Absent;
        ulong linearizedHash = 0;
        var mandatoryLinearized = 0;
        long steps = 0;
        var entry = _next[_head];

        // Once every mandatory operation is placed, the remaining (pending) ones can simply be
        // left out, so the history is linearizable.
        while (mandatoryLinearized < _mandatoryCount)
        {
            if ((++steps & (ClockCheckInterval - 1)) == 0 && Stopwatch.GetTimestamp() > deadlineTimestamp)
            {
                return new Outcome(Verdict.TimedOut, [], null, []);
            }

            if (entry >= n)
            {
                // A return whose call is not linearized: everything after it is too late for that
                // call, so undo the most recent step and try the next candidate after it.
                if (depth == 0)
                {
                    var prefix = Flatten(bestOps, bestEnablers, bestDepth);
                    return new Outcome(Verdict.NotLinearizable, prefix, StateAfter(prefix), CandidatesAfter(prefix));
                }

                depth--;
                agreed = Math.Min(agreed, depth);
                var op = stackOps[depth];
                var placedEnabler = stackEnablers[depth];
                state = stackStates[depth];
                Unplace(op);
                if (placedEnabler >= 0)
                {
                    Unplace(placedEnabler);
                }

                entry = _next[op];
                continue;
            }

            var enabler = -1;
            var accepted = Accepts(_ops[entry], state);
            if (!accepted && _ops[entry] is { Kind: KvOperationKind.CompareAndSwap, Pending: false, Succeeded: false })
            {
                enabler = FindEnabler(state);
                accepted = enabler >= 0;
            }

            if (accepted)
            {
                var newState = Apply(_ops[entry], enabler >= 0 ? Unobservable : state);
                var hash = linearizedHash ^ _opHashes[entry] ^ (enabler >= 0 ? _opHashes[enabler] : 0);
                SetBit(linearized, entry);
                if (enabler >= 0)
                {
                    SetBit(linearized, enabler);
                }

                if (visited.TryAdd(hash ^ Mix((ulong)newState + 0x9E3779B97F4A7C15UL), newState, linearized))
                {
                    stackOps[depth] = entry;
                    stackEnablers[depth] = enabler;
                    stackStates[depth] = state;
                    depth++;
                    state = newState;
                    linearizedHash = hash;
                    if (enabler >= 0)
                    {
                        Lift(enabler);
                    }

                    Lift(entry);
                    if (!_ops[entry].Pending)
                    {
                        mandatoryLinearized++;
                    }

                    if (depth > bestDepth)
                    {
                        Array.Copy(stackOps, agreed, bestOps, agreed, depth - agreed);
                        Array.Copy(stackEnablers, agreed, bestEnablers, agreed, depth - agreed);
                        bestDepth = depth;
                        agreed = depth;
                    }

                    entry = _next[_head];
                    continue;
                }

                ClearBit(linearized, entry);
                if (enabler >= 0)
                {
                    ClearBit(linearized, enabler);
                }
            }

            entry = _next[entry];
        }

        return new Outcome(Verdict.Linearizable, [], null, []);

        // Undoes one placement; callers undo an enabler after the operation it preceded, the
        // reverse of lifting, as the linked list restore requires.
        void Unplace(int op)
        {
            ClearBit(linearized, op);
            linearizedHash ^= _opHashes[op];
            if (!_ops[op].Pending)
            {
                mandatoryLinearized--;
            }

            Unlift(op);
        }
    }

    /// <summary>
    /// The enabler to place before a failed swap that expects the current state, or -1. Only
    /// operations that are candidates now qualify (calls ahead of the first return still listed).
    /// A swap enabler only fits this state, so it is preferred over a Put, which fits any. Which
    /// one of a kind is irrelevant: the others stay candidates for every later step, so taking a
    /// fixed one (the latest listed) spares the search from trying each.
    /// </summary>
    private int FindEnabler(int state)
    {
        var swap = -1;
        var put = -1;
        for (var node = _next[_head]; node >= 0 && node < _ops.Length; node = _next[node])
        {
            var op = _ops[node];
            if (!op.Enabler)
            {
                continue;
            }

            if (op.Kind == KvOperationKind.Put)
            {
                put = node;
            }
            else if (op.Expected == state)
            {
                swap = node;
            }
        }

        return swap >= 0 ? swap : put;
    }

    private static int Apply(in ModelOp op, int state) => op.Kind switch
    {
        KvOperationKind.Put => op.Value,
        KvOperationKind.CompareAndSwap when state == op.Expected => op.Value,
        _ => state,
    };

    /// <summary>Whether the model allows placing the operation on its own in this state.</summary>
    private static bool Accepts(in ModelOp op, int state)
    {
        if (op.Pending)
        {
            // A pending operation is optional, and placing one that changes nothing can never help
            // (leaving it out reaches the same state with more freedom). Enablers only go in pairs.
            return !op.Enabler && Apply(op, state) != state;
        }

        return op.Kind switch
        {
            KvOperationKind.Get => op.Output == state,
            KvOperationKind.CompareAndSwap => op.Succeeded == (state == op.Expected),
            _ => true,
        };
    }

    private static int[] Flatten(int[] ops, int[] enablers, int depth)
    {
        var prefix = new List<int>(depth);
        for (var i = 0; i < depth; i++)
        {
            if (enablers[i] >= 0)
            {
                prefix.Add(enablers[i]);
            }

            prefix.Add(ops[i]);
        }

        return [.. prefix];
    }

    /// <summary>The actual value (not the model state, which may be folded) the prefix leaves.</summary>
    private string? StateAfter(int[] prefix)
    {
        var state = Absent;
        string? value = null;
        foreach (var op in prefix)
        {
            var writes = _ops[op].Kind == KvOperationKind.Put
                || (_ops[op].Kind == KvOperationKind.CompareAndSwap && state == _ops[op].Expected);
            if (writes)
            {
                value = _operations[op].Value;
            }

            state = Apply(_ops[op], state);
        }

        return value;
    }

    /// <summary>
    /// The unplaced operations the search could have tried next: those called no later than the
    /// earliest return among unplaced mandatory operations.
    /// </summary>
    private int[] CandidatesAfter(int[] prefix)
    {
        var placed = new bool[_ops.Length];
        foreach (var op in prefix)
        {
            placed[op] = true;
        }

        var earliestReturn = long.MaxValue;
        for (var i = 0; i < _ops.Length; i++)
        {
            if (!placed[i] && !_ops[i].Pending)
            {
                earliestReturn = Math.Min(earliestReturn, _returnTimes[i]);
            }
        }

        return [.. Enumerable.Range(0, _ops.Length)
            .Where(i => !placed[i] && _operations[i].CallTime <= earliestReturn)
            .OrderBy(i => _operations[i].CallTime)];
    }

    private (long Time, int Rank) SortKey(int node)
    {
        var n = _ops.Length;
        if (node < n)
        {
            return (_operations[node].CallTime, 0);
        }

        return (_returnTimes[node - n], _ops[node - n].Pending ? 2 : 1);
    }

    private void Lift(int op)
    {
        Unlink(op);
        Unlink(op + _ops.Length);
    }

    // Dancing-links restore: nodes are relinked in the reverse order of their removal.
    private void Unlift(int op)
    {
        Relink(op + _ops.Length);
        Relink(op);
    }

    private void Unlink(int node)
    {
        _next[_prev[node]] = _next[node];
        if (_next[node] >= 0)
        {
            _prev[_next[node]] = _prev[node];
        }
    }

    private void Relink(int node)
    {
        _next[_prev[node]] = node;
        if (_next[node] >= 0)
        {
            _prev[_next[node]] = node;
        }
    }

    private static void SetBit(ulong[] bits, int index) => bits[index >> 6] |= 1UL << (index & 63);

    private static void ClearBit(ulong[] bits, int index) => bits[index >> 6] &= ~(1UL << (index & 63));

    // SplitMix64 finalizer: spreads small integers into independent-looking 64-bit hashes.
    private static ulong Mix(ulong x)
    {
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    /// <summary>
    /// An operation with values interned to model states. <see cref="Pending"/> means optional;
    /// <see cref="Enabler"/> marks pending writes of an unobservable value.
    /// </summary>
    private readonly record struct ModelOp(
        KvOperationKind Kind,
        int Value,
        int Expected,
        int Output,
        bool Succeeded,
        bool Pending,
        bool Enabler);
}
