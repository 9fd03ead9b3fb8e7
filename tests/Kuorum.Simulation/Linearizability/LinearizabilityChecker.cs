using System.Diagnostics;
using System.Text;

namespace Kuorum.Simulation.Linearizability;

/// <summary>
/// Decides whether a key-value history is linearizable, in the style of Porcupine: the history is
/// split by key (linearizability is compositional, so each register can be checked alone) and each
/// partition is searched with Lowe's memoized just-in-time linearization algorithm.
/// </summary>
public static class LinearizabilityChecker
{
    // Bounds on explanation length: long histories would otherwise produce unreadable reports.
    private const int MaxPrefixLines = 20;
    private const int MaxCandidateLines = 20;

    /// <summary>
    /// Checks the whole history; keys are independent registers whose initial value is absent (null).
    /// </summary>
    /// <remarks>
    /// Operations that never returned are the expensive part of the search. Give every write a
    /// value unique within its key (e.g. client and sequence number): a pending write whose value
    /// was read can then be pinned in time, and one whose value was never read costs almost nothing.
    /// With repeated values, each pending write stays a free choice and the check can blow up.
    /// </remarks>
    /// <param name="history">The operations, in any order.</param>
    /// <param name="budget">
    /// Wall-clock budget for the whole check, or <see cref="Timeout.InfiniteTimeSpan"/>. When it runs
    /// out the result is inconclusive: linearizable with <see cref="LinearizabilityResult.TimedOut"/> set.
    /// </param>
    public static LinearizabilityResult Check(IReadOnlyList<KvOperation> history, TimeSpan budget)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (budget <= TimeSpan.Zero && budget != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(budget), budget, "The budget must be positive or infinite.");
        }

        var deadline = Deadline(budget);
        var partitions = Partition(history);
        var keys = partitions.Keys.Order(StringComparer.Ordinal).ToList();
        var timedOutKeys = new List<string>();
        foreach (var key in keys)
        {
            // Keys keep being checked after the budget runs out: a proven violation beats an
            // inconclusive answer, small keys finish before the search first reads the clock, and
            // larger ones stop at that first check.
            var operations = partitions[key];
            var outcome = new PartitionSearch(operations).Run(deadline);
            if (outcome.Verdict == PartitionSearch.Verdict.NotLinearizable)
            {
                return new LinearizabilityResult(false, false, key, Explain(key, operations, outcome));
            }

            if (outcome.Verdict == PartitionSearch.Verdict.TimedOut)
            {
                timedOutKeys.Add(key);
            }
        }

        if (timedOutKeys.Count > 0)
        {
            return new LinearizabilityResult(
                true,
                true,
                null,
                $"Inconclusive: the budget of {budget} ran out before deciding {timedOutKeys.Count} of {keys.Count} keys "
                + $"({string.Join(", ", timedOutKeys.Select(key => $"{Quote(key)}: {partitions[key].Count} operations"))}); "
                + "no violation was found in the others.");
        }

        return new LinearizabilityResult(
            true,
            false,
            null,
            $"Linearizable: {history.Count} operations over {keys.Count} keys.");
    }

    private static Dictionary<string, List<KvOperation>> Partition(IReadOnlyList<KvOperation> history)
    {
        var partitions = new Dictionary<string, List<KvOperation>>(StringComparer.Ordinal);
        foreach (var op in history)
        {
            ArgumentNullException.ThrowIfNull(op, nameof(history));
            if (op.ReturnTime < op.CallTime)
            {
                throw new ArgumentException($"Operation returns before it is called: {op.Describe()}", nameof(history));
            }

            // A Get that never returned has no effect and no observed output, so it constrains nothing.
            if (op is { Kind: KvOperationKind.Get, IsPending: true })
            {
                continue;
            }

            if (!partitions.TryGetValue(op.Key, out var operations))
            {
                operations = [];
                partitions.Add(op.Key, operations);
            }

            operations.Add(op);
        }

        return partitions;
    }

    private static long Deadline(TimeSpan budget)
    {
        var now = Stopwatch.GetTimestamp();
        if (budget == Timeout.InfiniteTimeSpan)
        {
            return long.MaxValue;
        }

        // Computed in floating point so that huge budgets saturate instead of overflowing.
        var ticks = budget.TotalSeconds * Stopwatch.Frequency;
        return ticks >= long.MaxValue - now ? long.MaxValue : now + (long)ticks;
    }

    private static string Explain(string key, List<KvOperation> operations, PartitionSearch.Outcome outcome)
    {
        var prefix = outcome.LongestPrefix;
        var text = new StringBuilder();
        text.Append($"Key {Quote(key)} is not linearizable ({operations.Count} operations on this key).\n");
        text.Append($"Longest linearizable prefix: {prefix.Count} of {operations.Count} operations, ")
            .Append($"leaving the value {Quote(outcome.StateAfterPrefix)}");
        if (prefix.Count == 0)
        {
            text.Append(" (the initial state).\n");
        }
        else
        {
            text.Append(":\n");
            var first = Math.Max(0, prefix.Count - MaxPrefixLines);
            if (first > 0)
            {
                text.Append($"  ... ({first} earlier operations omitted)\n");
            }

            for (var i = first; i < prefix.Count; i++)
            {
                text.Append($"  {i + 1}. {operations[prefix[i]].Describe()}\n");
            }
        }

        var candidates = outcome.NextCandidates.Select(i => operations[i]).ToList();
        text.Append("No linearization continues past that point; the operations that could come next are:\n");
        foreach (var op in candidates.Take(MaxCandidateLines))
        {
            text.Append($"  - {op.Describe()}\n");
        }

        if (candidates.Count > MaxCandidateLines)
        {
            text.Append($"  ... ({candidates.Count - MaxCandidateLines} more)\n");
        }

        return text.ToString().TrimEnd('\n');
    }

    private static string Quote(string? value) => value is null ? "absent" : $"\"{value}\"";
}
