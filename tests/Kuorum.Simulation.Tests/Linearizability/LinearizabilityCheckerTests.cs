using Kuorum.Simulation.Linearizability;

namespace Kuorum.Simulation.Tests.Linearizability;

public sealed class LinearizabilityCheckerTests
{
    private static readonly TimeSpan _budget = TimeSpan.FromSeconds(20);

    // ---- Linearizable histories -------------------------------------------------------------

    [Fact]
    public void Check_EmptyHistory_IsLinearizable()
    {
        var result = LinearizabilityChecker.Check([], _budget);

        AssertLinearizable(result);
    }

    [Fact]
    public void Check_SequentialHistory_IsLinearizable()
    {
        var result = LinearizabilityChecker.Check(
        [
            Get(0, "k", null, 0, 1),
            Put(0, "k", "a", 2, 3),
            Get(1, "k", "a", 4, 5),
            Put(1, "k", "b", 6, 7),
            Get(0, "k", "b", 8, 9),
        ], _budget);

        AssertLinearizable(result);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("a")]
    public void Check_GetOverlappingPut_AcceptsOldOrNewValue(string? observed)
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(0, "k", "a", 0, 10),
            Get(1, "k", observed, 5, 15),
        ], _budget);

        AssertLinearizable(result);
    }

    [Fact]
    public void Check_ConcurrentGetsSeeNewThenOld_IsLinearizable()
    {
        // Both reads overlap the write and each other, so "new" then "old" in call order is fine.
        var result = LinearizabilityChecker.Check(
        [
            Put(0, "k", "a", 0, 1),
            Put(0, "k", "b", 2, 20),
            Get(1, "k", "b", 3, 10),
            Get(2, "k", "a", 4, 11),
        ], _budget);

        AssertLinearizable(result);
    }

    [Fact]
    public void Check_ReturnAndCallAtSameTime_AreTreatedAsOverlapping()
    {
        // The Get is called at the instant the Put returns, so it may still be ordered first.
        var result = LinearizabilityChecker.Check(
        [
            Put(0, "k", "a", 0, 5),
            Get(1, "k", null, 5, 6),
        ], _budget);

        AssertLinearizable(result);
    }

    [Fact]
    public void Check_CompareAndSwapChain_IsLinearizable()
    {
        var result = LinearizabilityChecker.Check(
        [
            Cas(0, "k", null, "a", true, 0, 1),
            Cas(1, "k", null, "b", false, 2, 3),
            Cas(0, "k", "a", "b", true, 4, 5),
            Cas(1, "k", "a", "c", false, 6, 7),
            Cas(2, "k", "b", "c", true, 8, 9),
            Get(0, "k", "c", 10, 11),
        ], _budget);

        AssertLinearizable(result);
    }

    [Fact]
    public void Check_ConcurrentCompareAndSwapsFromSameValue_OneSucceeding_IsLinearizable()
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(0, "k", "a", 0, 1),
            Cas(1, "k", "a", "b", false, 2, 10),
            Cas(2, "k", "a", "c", true, 3, 9),
            Get(0, "k", "c", 11, 12),
        ], _budget);

        AssertLinearizable(result);
    }

    [Theory]
    [InlineData("a")]
    [InlineData(null)]
    public void Check_PendingPut_MayOrMayNotTakeEffect(string? observed)
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(0, "k", "a", 0, null),
            Get(1, "k", observed, 5, 6),
            Get(1, "k", observed, 7, 8),
        ], _budget);

        AssertLinearizable(result);
    }

    [Fact]
    public void Check_PendingPutTakingEffectLate_IsLinearizable()
    {
        // Never returning means the write may land arbitrarily late: after several reads missed it.
        var result = LinearizabilityChecker.Check(
        [
            Put(0, "k", "a", 0, null),
            Get(1, "k", null, 5, 6),
            Get(1, "k", null, 100, 101),
            Get(1, "k", "a", 200, 201),
        ], _budget);

        AssertLinearizable(result);
    }

    [Theory]
    [InlineData("b")]
    [InlineData("a")]
    public void Check_PendingCompareAndSwap_MayOrMayNotTakeEffect(string observed)
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(0, "k", "a", 0, 1),
            Cas(1, "k", "a", "b", false, 2, null),
            Get(2, "k", observed, 5, 6),
        ], _budget);

        AssertLinearizable(result);
    }

    [Fact]
    public void Check_ManyPendingWrites_SubsetTakesEffect_IsLinearizable()
    {
        // Only the pending writes of "b" and "d" (in that order) explain the reads.
        var result = LinearizabilityChecker.Check(
        [
            Put(0, "k", "a", 0, null),
            Put(1, "k", "b", 0, null),
            Put(2, "k", "c", 0, null),
            Put(3, "k", "d", 0, null),
            Get(4, "k", "b", 10, 11),
            Get(4, "k", "d", 12, 13),
            Get(4, "k", "d", 14, 15),
        ], _budget);

        AssertLinearizable(result);
    }

    [Fact]
    public void Check_UnseenPendingWriteExplainingFailedSwap_IsLinearizable()
    {
        // The swap can only have failed if the pending write of "x", never read, landed first.
        var result = LinearizabilityChecker.Check(
        [
            Put(0, "k", "a", 0, 1),
            Put(1, "k", "x", 2, null),
            Cas(2, "k", "a", "b", false, 3, 4),
        ], _budget);

        AssertLinearizable(result);
    }

    [Fact]
    public void Check_UnseenPendingWritesExplainingTwoFailedSwaps_IsLinearizable()
    {
        // Only the pending swap can explain the first failure if the pending Put is to remain
        // available for the second, where the value is "b" and the pending swap no longer applies.
        var result = LinearizabilityChecker.Check(
        [
            Put(0, "k", "a", 0, 1),
            Cas(1, "k", "a", "x", false, 2, null),
            Put(2, "k", "y", 2, null),
            Cas(3, "k", "a", "z", false, 3, 4),
            Put(0, "k", "b", 5, 6),
            Cas(3, "k", "b", "z", false, 7, 8),
        ], _budget);

        AssertLinearizable(result);
    }

    [Fact]
    public void Check_PendingGetWithAnyOutput_IsIgnored()
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(0, "k", "a", 0, 1),
            Get(1, "k", "never-written", 2, null),
            Get(2, "k", "a", 3, 4),
        ], _budget);

        AssertLinearizable(result);
    }

    [Fact]
    public void Check_MultipleKeys_AreIndependentRegisters()
    {
        // As one register this history would be a stale read; per key it is sequential.
        var result = LinearizabilityChecker.Check(
        [
            Put(0, "x", "a", 0, 1),
            Get(1, "y", null, 2, 3),
            Put(1, "y", "b", 4, 5),
            Get(0, "x", "a", 6, 7),
            Get(0, "y", "b", 8, 9),
        ], _budget);

        AssertLinearizable(result);
    }

    // ---- Non-linearizable histories ----------------------------------------------------------

    [Fact]
    public void Check_StaleReadAfterCompletedWrite_IsRejected()
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(0, "k", "a", 0, 1),
            Put(0, "k", "b", 2, 3),
            Get(1, "k", "a", 4, 5),
        ], _budget);

        AssertRejected(result, "k");
    }

    [Fact]
    public void Check_ReadOfValueNeverWritten_IsRejected()
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(0, "k", "a", 0, 10),
            Get(1, "k", "ghost", 2, 8),
        ], _budget);

        AssertRejected(result, "k");
    }

    [Fact]
    public void Check_SequentialCompareAndSwapsBothSucceedingFromSameValue_IsRejected()
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(0, "k", "a", 0, 1),
            Cas(1, "k", "a", "b", true, 2, 3),
            Cas(2, "k", "a", "c", true, 4, 5),
        ], _budget);

        AssertRejected(result, "k");
    }

    [Fact]
    public void Check_ConcurrentCompareAndSwapsBothSucceedingFromSameValue_IsRejected()
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(0, "k", "a", 0, 1),
            Cas(1, "k", "a", "b", true, 2, 10),
            Cas(2, "k", "a", "c", true, 3, 9),
        ], _budget);

        AssertRejected(result, "k");
    }

    [Fact]
    public void Check_NewOldInversion_IsRejected()
    {
        // The write overlaps both reads, but the read of "b" returned before the read of "a" began.
        var result = LinearizabilityChecker.Check(
        [
            Put(0, "k", "a", 0, 1),
            Put(0, "k", "b", 2, 20),
            Get(1, "k", "b", 3, 5),
            Get(2, "k", "a", 6, 8),
        ], _budget);

        AssertRejected(result, "k");
    }

    [Fact]
    public void Check_LostUpdate_IsRejected()
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(0, "k", "a", 0, 5),
            Get(1, "k", null, 6, 7),
        ], _budget);

        AssertRejected(result, "k");
    }

    [Fact]
    public void Check_ReadInconsistentWithSucceededCompareAndSwap_IsRejected()
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(0, "k", "a", 0, 1),
            Cas(1, "k", "a", "b", true, 2, 3),
            Get(2, "k", "a", 4, 5),
        ], _budget);

        AssertRejected(result, "k");
    }

    [Fact]
    public void Check_CompareAndSwapFailingDespiteMatchingValue_IsRejected()
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(0, "k", "a", 0, 1),
            Cas(1, "k", "a", "b", false, 2, 3),
        ], _budget);

        AssertRejected(result, "k");
    }

    [Fact]
    public void Check_ObservedPendingWriteLaterUnseen_IsRejected()
    {
        // Once a read has observed the pending write, it has taken effect and must stay visible.
        var result = LinearizabilityChecker.Check(
        [
            Put(0, "k", "a", 0, 1),
            Put(1, "k", "b", 2, null),
            Get(2, "k", "b", 3, 4),
            Get(2, "k", "a", 5, 6),
        ], _budget);

        AssertRejected(result, "k");
    }

    [Fact]
    public void Check_ObservedPendingSwapThatCouldNotHaveApplied_IsRejected()
    {
        // The only writer of "c" is a swap expecting "b", but the value was "a" throughout.
        var result = LinearizabilityChecker.Check(
        [
            Put(0, "k", "a", 0, 1),
            Cas(1, "k", "b", "c", false, 2, null),
            Get(2, "k", "c", 3, 4),
        ], _budget);

        AssertRejected(result, "k");
    }

    [Fact]
    public void Check_PendingWriteObservedBeforeItWasCalled_IsRejected()
    {
        var result = LinearizabilityChecker.Check(
        [
            Get(0, "k", "a", 0, 1),
            Put(1, "k", "a", 2, null),
        ], _budget);

        AssertRejected(result, "k");
    }

    [Fact]
    public void Check_ViolationOnOneKeyAmongMany_NamesThatKey()
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(0, "alpha", "1", 0, 1),
            Get(1, "alpha", "1", 2, 3),
            Put(0, "beta", "1", 0, 1),
            Get(1, "beta", null, 2, 3),
            Put(0, "gamma", "1", 0, 1),
            Get(1, "gamma", "1", 2, 3),
        ], _budget);

        AssertRejected(result, "beta");
    }

    [Fact]
    public void Check_Violation_ExplanationDescribesPrefixAndStuckOperation()
    {
        var result = LinearizabilityChecker.Check(
        [
            Put(7, "k", "a", 0, 1),
            Put(7, "k", "b", 2, 3),
            Get(9, "k", "a", 4, 5),
        ], _budget);

        AssertRejected(result, "k");
        Assert.Contains("Key \"k\"", result.Explanation, StringComparison.Ordinal);
        Assert.Contains("2 of 3 operations", result.Explanation, StringComparison.Ordinal);
        Assert.Contains("leaving the value \"b\"", result.Explanation, StringComparison.Ordinal);
        Assert.Contains("client 9: Get(\"k\") -> \"a\" [call 4, return 5]", result.Explanation, StringComparison.Ordinal);
    }

    // ---- Validation and budget ---------------------------------------------------------------

    [Fact]
    public void Check_ReturnBeforeCall_Throws()
    {
        Assert.Throws<ArgumentException>(() => LinearizabilityChecker.Check([Put(0, "k", "a", 5, 4)], _budget));
    }

    [Fact]
    public void Check_BudgetExhausted_ReportsTimedOutAsLinearizable()
    {
        // Forty fully concurrent writes followed by an impossible read: refuting it means trying
        // every subset of the writes, about 2^40 configurations.
        var history = new List<KvOperation>();
        for (var i = 0; i < 40; i++)
        {
            history.Add(Put(i, "k", $"v{i}", 0, 10));
        }

        history.Add(Get(99, "k", "never-written", 20, 21));

        var result = LinearizabilityChecker.Check(history, TimeSpan.FromMilliseconds(50));

        Assert.True(result.TimedOut);
        Assert.True(result.IsLinearizable);
        Assert.Null(result.FailingKey);
    }

    [Fact]
    public void Check_BudgetExhaustedOnOneKey_StillReportsViolationOnAnother()
    {
        var history = new List<KvOperation>();
        for (var i = 0; i < 40; i++)
        {
            history.Add(Put(i, "a-hard", $"v{i}", 0, 10));
        }

        history.Add(Get(99, "a-hard", "never-written", 20, 21));
        history.Add(Put(0, "b-stale", "x", 0, 1));
        history.Add(Get(1, "b-stale", null, 2, 3));

        var result = LinearizabilityChecker.Check(history, TimeSpan.FromMilliseconds(50));

        AssertRejected(result, "b-stale");
    }

    // ---- Randomized histories ----------------------------------------------------------------

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void Check_RandomLinearizableHistory_IsLinearizable(int seed)
    {
        var history = RandomHistory(new Random(seed), operations: 300, keys: 3, maxHalfWindow: 40);

        var result = LinearizabilityChecker.Check(history, _budget);

        AssertLinearizable(result);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void Check_RandomHistoryWithOneReadOfUnwrittenValue_IsRejected(int seed)
    {
        var random = new Random(seed);
        var history = RandomHistory(random, operations: 300, keys: 3, maxHalfWindow: 40);
        var reads = Enumerable.Range(0, history.Count)
            .Where(i => history[i] is { Kind: KvOperationKind.Get, IsPending: false })
            .ToList();
        var victim = reads[random.Next(reads.Count)];
        history[victim] = history[victim] with { Output = "never-written" };

        var result = LinearizabilityChecker.Check(history, _budget);

        AssertRejected(result, history[victim].Key);
    }

    [Fact]
    public void Check_LargeConcurrentHistory_FinishesWithinBudget()
    {
        var history = RandomHistory(new Random(42), operations: 1000, keys: 2, maxHalfWindow: 100);

        var result = LinearizabilityChecker.Check(history, _budget);

        Assert.False(result.TimedOut, result.Explanation);
        AssertLinearizable(result);
    }

    [Theory]
    [InlineData(1, 3)]
    [InlineData(2, 6)]
    public void Check_SmallRandomHistories_AgreeWithExhaustiveSearch(int seed, int distinctValues)
    {
        // Arbitrary (mostly non-linearizable) histories with many pending operations, compared
        // with a brute-force search over every order and every subset of pending operations.
        var random = new Random(seed);
        string?[] values = [null, .. Enumerable.Range(0, distinctValues - 1).Select(v => $"v{v}")];
        var verdicts = new int[2];
        for (var iteration = 0; iteration < 4000; iteration++)
        {
            var history = new List<KvOperation>();
            for (var client = random.Next(1, 8); client > 0; client--)
            {
                long call = random.Next(12);
                long? ret = random.Next(3) == 0 ? null : call + random.Next(5);
                history.Add(random.Next(3) switch
                {
                    0 => Put(client, "k", values[random.Next(1, values.Length)], call, ret),
                    1 => Get(client, "k", values[random.Next(values.Length)], call, ret),
                    _ => Cas(client, "k", values[random.Next(values.Length)], values[random.Next(values.Length)], random.Next(2) == 0, call, ret),
                });
            }

            var expected = IsLinearizableByExhaustiveSearch(history, new bool[history.Count], null);
            var result = LinearizabilityChecker.Check(history, _budget);

            Assert.False(result.TimedOut);
            Assert.True(expected == result.IsLinearizable, string.Join("\n", history.Select(op => op.Describe())));
            verdicts[expected ? 1 : 0]++;
        }

        // Both verdicts must be well represented for the comparison to mean anything.
        Assert.All(verdicts, count => Assert.True(count > 500, $"{verdicts[0]} rejected, {verdicts[1]} accepted"));
    }

    /// <summary>
    /// Tries every operation that may come next (no unplaced completed operation returned before
    /// its call) in every order; pending operations may be placed or left out.
    /// </summary>
    private static bool IsLinearizableByExhaustiveSearch(List<KvOperation> history, bool[] placed, string? state)
    {
        if (Enumerable.Range(0, history.Count).All(i => placed[i] || history[i].IsPending))
        {
            return true;
        }

        for (var i = 0; i < history.Count; i++)
        {
            var op = history[i];
            var blocked = Enumerable.Range(0, history.Count)
                .Any(j => !placed[j] && j != i && history[j].ReturnTime < op.CallTime);
            if (placed[i] || blocked)
            {
                continue;
            }

            var matches = state == op.Expected;
            var (allowed, next) = op.Kind switch
            {
                KvOperationKind.Put => (true, op.Value),
                KvOperationKind.Get => (op.IsPending || op.Output == state, state),
                _ => (op.IsPending || op.Succeeded == matches, matches ? op.Value : state),
            };
            if (!allowed)
            {
                continue;
            }

            placed[i] = true;
            var found = IsLinearizableByExhaustiveSearch(history, placed, next);
            placed[i] = false;
            if (found)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Runs random operations through the register model one at a time, placing each at a
    /// distinct linearization point, then widens every operation into a random window around its
    /// point. The points are a valid linearization, so the result is linearizable by construction.
    /// Some writes are marked pending (they did take effect, the client just never heard back).
    /// </summary>
    private static List<KvOperation> RandomHistory(Random random, int operations, int keys, int maxHalfWindow)
    {
        var state = new Dictionary<string, string?>();
        var history = new List<KvOperation>(operations);
        for (var i = 0; i < operations; i++)
        {
            var key = $"key{random.Next(keys)}";
            var current = state.GetValueOrDefault(key);
            var client = random.Next(8);
            var point = 10L * i;
            var call = point - random.Next(maxHalfWindow + 1);
            long? ret = point + random.Next(maxHalfWindow + 1);
            var value = $"v{random.Next(6)}";
            var roll = random.Next(10);
            if (roll < 4)
            {
                history.Add(Get(client, key, current, call, ret));
                continue;
            }

            if (random.Next(15) == 0)
            {
                ret = null;
            }

            if (roll < 7)
            {
                state[key] = value;
                history.Add(Put(client, key, value, call, ret));
            }
            else
            {
                // Expect the current value most of the time so that swaps often succeed.
                var expected = random.Next(3) == 0 ? $"v{random.Next(6)}" : current;
                var succeeded = expected == current;
                if (succeeded)
                {
                    state[key] = value;
                }

                history.Add(Cas(client, key, expected, value, succeeded, call, ret));
            }
        }

        return history;
    }

    private static void AssertLinearizable(LinearizabilityResult result)
    {
        Assert.True(result.IsLinearizable, result.Explanation);
        Assert.False(result.TimedOut, result.Explanation);
        Assert.Null(result.FailingKey);
    }

    private static void AssertRejected(LinearizabilityResult result, string key)
    {
        Assert.False(result.IsLinearizable, result.Explanation);
        Assert.False(result.TimedOut, result.Explanation);
        Assert.Equal(key, result.FailingKey);
    }

    private static KvOperation Put(int client, string key, string? value, long call, long? ret) =>
        new(client, KvOperationKind.Put, key, value, null, call, ret, null, true);

    private static KvOperation Get(int client, string key, string? output, long call, long? ret) =>
        new(client, KvOperationKind.Get, key, null, null, call, ret, output, false);

    private static KvOperation Cas(int client, string key, string? expected, string? value, bool succeeded, long call, long? ret) =>
        new(client, KvOperationKind.CompareAndSwap, key, value, expected, call, ret, null, succeeded);
}
