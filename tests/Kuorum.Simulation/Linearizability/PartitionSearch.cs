using System.Diagnostics;

namespace Kuorum.Simulation.Linearizability;

/// <summary>
/// Lowe's just-in-time linearization search, as used by Porcupine, over the history of a single
/// register. Call and return events sit in a doubly linked list in time order; the search
/// repeatedly linearizes the earliest call the model accepts (lifting it and its return out of
/// the list), and backtracks when it reaches a return whose call has not been linearized. A memo
/// of (linearized set, state) pairs prunes configurations that were already explored.
/// </summary>
internal sealed class PartitionSearch
{
    public enum Verdict
    {
        Linearizable,
        NotLinearizable,
        TimedOut,
    }

    /// <summary>The verdict plus, on failure, the deepest linearization reached and the state it leaves.</summary>
    public sealed record Outcome(Verdict Verdict, IReadOnlyList<int> LongestPrefix, string? StateAfterPrefix);

    // Deadline checks read the clock, so only do it every this many (power of two) search steps.
    private const int ClockCheckInterval = 1024;
    private const int Absent = 0;

    private readonly ModelOp[] _ops;
    private readonly List<string?> _valueNames = [null];
    private readonly ulong[] _opHashes;
    private readonly int[] _next;
    private readonly int[] _prev;
    private readonly int _head;
    private readonly int _completedCount;

    /// <param name="operations">One key's operations; pending Gets must already be removed.</param>
    public PartitionSearch(IReadOnlyList<KvOperation> operations)
    {
        var n = operations.Count;
        var valueIds = new Dictionary<string, int>(StringComparer.Ordinal);
        _ops = new ModelOp[n];
        _opHashes = new ulong[n];
        for (var i = 0; i < n; i++)
        {
            var op = operations[i];
            _ops[i] = new ModelOp(
                op.Kind,
                Intern(op.Value),
                Intern(op.Expected),
                Intern(op.Output),
                op.Succeeded,
                op.IsPending);
            _opHashes[i] = Mix((ulong)i + 1);
            if (!op.IsPending)
            {
                _completedCount++;
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
            var (timeA, rankA) = SortKey(operations, a, n);
            var (timeB, rankB) = SortKey(operations, b, n);
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

        int Intern(string? value)
        {
            if (value is null)
            {
                return Absent;
            }

            if (!valueIds.TryGetValue(value, out var id))
            {
                id = _valueNames.Count;
                valueIds.Add(value, id);
                _valueNames.Add(value);
            }

            return id;
        }
    }

    public Outcome Run(long deadlineTimestamp)
    {
        var n = _ops.Length;
        var linearized = new ulong[Math.Max(1, (n + 63) >> 6)];
        var visited = new VisitedSet(linearized.Length);
        var stackOps = new int[n];
        var stackStates = new int[n];
        var depth = 0;

        // The deepest stack seen, kept for the failure explanation. The stack only changes at its
        // top, so best[0..agreed) is known to equal the stack and only the rest is copied.
        var best = new int[n];
        var bestDepth = 0;
        var agreed = 0;

        var state = Absent;
        ulong linearizedHash = 0;
        var completedLinearized = 0;
        long steps = 0;
        var entry = _next[_head];

        // Once every completed operation is placed, the remaining (pending) ones can simply be
        // left out, so the history is linearizable.
        while (completedLinearized < _completedCount)
        {
            if ((++steps & (ClockCheckInterval - 1)) == 0 && Stopwatch.GetTimestamp() > deadlineTimestamp)
            {
                return new Outcome(Verdict.TimedOut, [], null);
            }

            if (entry < n)
            {
                if (TryStep(_ops[entry], state, out var newState))
                {
                    var hash = linearizedHash ^ _opHashes[entry];
                    SetBit(linearized, entry);
                    if (visited.TryAdd(hash ^ Mix((ulong)newState + 0x9E3779B97F4A7C15UL), newState, linearized))
                    {
                        stackOps[depth] = entry;
                        stackStates[depth] = state;
                        depth++;
                        state = newState;
                        linearizedHash = hash;
                        if (!_ops[entry].Pending)
                        {
                            completedLinearized++;
                        }

                        Lift(entry);
                        if (depth > bestDepth)
                        {
                            Array.Copy(stackOps, agreed, best, agreed, depth - agreed);
                            bestDepth = depth;
                            agreed = depth;
                        }

                        entry = _next[_head];
                        continue;
                    }

                    ClearBit(linearized, entry);
                }

                entry = _next[entry];
            }
            else
            {
                // A return whose call is not linearized: everything after it is too late for that
                // call, so undo the most recent choice and try the next candidate after it.
                if (depth == 0)
                {
                    return new Outcome(Verdict.NotLinearizable, best[..bestDepth], StateAfter(best.AsSpan(0, bestDepth)));
                }

                depth--;
                var op = stackOps[depth];
                state = stackStates[depth];
                ClearBit(linearized, op);
                linearizedHash ^= _opHashes[op];
                if (!_ops[op].Pending)
                {
                    completedLinearized--;
                }

                agreed = Math.Min(agreed, depth);
                Unlift(op);
                entry = _next[op];
            }
        }

        return new Outcome(Verdict.Linearizable, [], null);
    }

    private static bool TryStep(in ModelOp op, int state, out int newState)
    {
        newState = op.Kind switch
        {
            KvOperationKind.Put => op.Value,
            KvOperationKind.CompareAndSwap when state == op.Expected => op.Value,
            _ => state,
        };

        if (op.Pending)
        {
            // A pending operation is optional, and placing one that changes nothing can never help
            // (leaving it out reaches the same state with more freedom), so only effectful ones go.
            return newState != state;
        }

        return op.Kind switch
        {
            KvOperationKind.Get => op.Output == state,
            KvOperationKind.CompareAndSwap => op.Succeeded == (state == op.Expected),
            _ => true,
        };
    }

    private string? StateAfter(ReadOnlySpan<int> prefix)
    {
        var state = Absent;
        foreach (var op in prefix)
        {
            TryStep(_ops[op], state, out state);
        }

        return _valueNames[state];
    }

    private static (long Time, int Rank) SortKey(IReadOnlyList<KvOperation> operations, int node, int n)
    {
        if (node < n)
        {
            return (operations[node].CallTime, 0);
        }

        return operations[node - n].ReturnTime is { } time ? (time, 1) : (long.MaxValue, 2);
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

    /// <summary>An operation with its values interned to small integers (0 = absent).</summary>
    private readonly record struct ModelOp(KvOperationKind Kind, int Value, int Expected, int Output, bool Succeeded, bool Pending);
}
