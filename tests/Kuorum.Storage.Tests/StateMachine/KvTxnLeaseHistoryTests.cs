using System.Text;
using Kuorum.Raft;
using Kuorum.Storage.StateMachine;

namespace Kuorum.Storage.Tests.StateMachine;

public sealed class KvTxnLeaseHistoryTests : IDisposable
{
    private static readonly KvStateMachineOptions _small = new()
    {
        IndexSizeBytes = 1 << 20,
        PageSizeBits = 21,
        MemorySizeBits = 23,
        SegmentSizeBits = 24,
    };

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private KvStateMachine Open(KvStateMachineOptions? options = null) => KvStateMachine.Open(_directory.Path, options ?? _small);

    private static byte[] B(string text) => Encoding.UTF8.GetBytes(text);

    private static string S(ReadOnlyMemory<byte> bytes) => Encoding.UTF8.GetString(bytes.Span);

    private static Entry E(long index, KvCommand command) => new(index, 1, EntryType.Normal, command.Encode());

    private static Entry Put(long index, string key, string value, long lease = 0) => E(index, KvCommand.Put(B(key), B(value), lease));

    private static IReadOnlyList<KvRecord> Everything(KvStateMachine machine) => machine.Range(ReadOnlySpan<byte>.Empty, int.MaxValue);

    private static KvCommand IfThen(KvCompare compare) =>
        KvCommand.Txn([compare], [KvOp.Put(B("r"), B("success"))], [KvOp.Put(B("r"), B("failure"))]);

    // "a" ends at value "m", create 1, mod 3, version 2, lease 0; "b" exists; "missing" does not.
    private KvStateMachine OpenWithCompareState()
    {
        var machine = Open();
        machine.Apply(Put(1, "a", "m"));
        machine.Apply(Put(2, "b", "x"));
        machine.Apply(Put(3, "a", "m"));
        return machine;
    }

    [Theory]
    [InlineData("a", KvCompareTarget.Version, KvCompareOperator.Equal, 2, true)]
    [InlineData("a", KvCompareTarget.Version, KvCompareOperator.Equal, 1, false)]
    [InlineData("a", KvCompareTarget.Version, KvCompareOperator.NotEqual, 1, true)]
    [InlineData("a", KvCompareTarget.Version, KvCompareOperator.NotEqual, 2, false)]
    [InlineData("a", KvCompareTarget.Version, KvCompareOperator.Greater, 1, true)]
    [InlineData("a", KvCompareTarget.Version, KvCompareOperator.Greater, 2, false)]
    [InlineData("a", KvCompareTarget.Version, KvCompareOperator.Less, 3, true)]
    [InlineData("a", KvCompareTarget.Version, KvCompareOperator.Less, 2, false)]
    [InlineData("a", KvCompareTarget.CreateRevision, KvCompareOperator.Equal, 1, true)]
    [InlineData("a", KvCompareTarget.CreateRevision, KvCompareOperator.NotEqual, 1, false)]
    [InlineData("a", KvCompareTarget.CreateRevision, KvCompareOperator.Greater, 0, true)]
    [InlineData("a", KvCompareTarget.CreateRevision, KvCompareOperator.Less, 1, false)]
    [InlineData("a", KvCompareTarget.ModRevision, KvCompareOperator.Equal, 3, true)]
    [InlineData("a", KvCompareTarget.ModRevision, KvCompareOperator.NotEqual, 3, false)]
    [InlineData("a", KvCompareTarget.ModRevision, KvCompareOperator.Greater, 3, false)]
    [InlineData("a", KvCompareTarget.ModRevision, KvCompareOperator.Less, 4, true)]
    [InlineData("a", KvCompareTarget.Lease, KvCompareOperator.Equal, 0, true)]
    [InlineData("a", KvCompareTarget.Lease, KvCompareOperator.Greater, 0, false)]
    [InlineData("missing", KvCompareTarget.Version, KvCompareOperator.Equal, 0, true)]
    [InlineData("missing", KvCompareTarget.Version, KvCompareOperator.Greater, 0, false)]
    [InlineData("missing", KvCompareTarget.CreateRevision, KvCompareOperator.Equal, 0, true)]
    [InlineData("missing", KvCompareTarget.ModRevision, KvCompareOperator.Less, 1, true)]
    [InlineData("missing", KvCompareTarget.ModRevision, KvCompareOperator.NotEqual, 0, false)]
    public void Txn_NumericCompare_ChoosesTheBranchItsOutcomeSays(string key, KvCompareTarget target, KvCompareOperator op, long operand, bool holds)
    {
        using var machine = OpenWithCompareState();
        var compare = target switch
        {
            KvCompareTarget.Version => KvCompare.Version(B(key), op, operand),
            KvCompareTarget.CreateRevision => KvCompare.CreateRevision(B(key), op, operand),
            KvCompareTarget.ModRevision => KvCompare.ModRevision(B(key), op, operand),
            _ => KvCompare.Lease(B(key), op, operand),
        };

        var result = machine.Apply(E(4, IfThen(compare)));

        Assert.Equal(holds, result.Succeeded);
        Assert.Equal(holds ? "success" : "failure", S(machine.Get(B("r"))!.Value));
        Assert.Equal(4, result.Revision);
    }

    [Theory]
    [InlineData("a", KvCompareOperator.Equal, "m", true)]
    [InlineData("a", KvCompareOperator.Equal, "n", false)]
    [InlineData("a", KvCompareOperator.NotEqual, "x", true)]
    [InlineData("a", KvCompareOperator.NotEqual, "m", false)]
    [InlineData("a", KvCompareOperator.Greater, "l", true)]
    [InlineData("a", KvCompareOperator.Greater, "m", false)]
    [InlineData("a", KvCompareOperator.Less, "n", true)]
    [InlineData("a", KvCompareOperator.Less, "m", false)]
    [InlineData("a", KvCompareOperator.Greater, "", true)]
    [InlineData("missing", KvCompareOperator.Equal, "", false)]
    [InlineData("missing", KvCompareOperator.NotEqual, "x", false)]
    [InlineData("missing", KvCompareOperator.Less, "x", false)]
    public void Txn_ValueCompare_ComparesBytesAndFailsForAMissingKey(string key, KvCompareOperator op, string operand, bool holds)
    {
        using var machine = OpenWithCompareState();

        var result = machine.Apply(E(4, IfThen(KvCompare.Value(B(key), op, B(operand)))));

        Assert.Equal(holds, result.Succeeded);
        Assert.Equal(holds ? "success" : "failure", S(machine.Get(B("r"))!.Value));
    }

    [Fact]
    public void Txn_ExistsAndMissing_TestPresenceAsVersionZero()
    {
        using var machine = OpenWithCompareState();

        Assert.True(machine.Apply(E(4, IfThen(KvCompare.Exists(B("a"))))).Succeeded);
        Assert.False(machine.Apply(E(5, IfThen(KvCompare.Exists(B("missing"))))).Succeeded);
        Assert.True(machine.Apply(E(6, IfThen(KvCompare.Missing(B("missing"))))).Succeeded);
        Assert.False(machine.Apply(E(7, IfThen(KvCompare.Missing(B("b"))))).Succeeded);
    }

    [Fact]
    public void Txn_OneCompareFails_RunsTheFailureBranchOnly()
    {
        using var machine = OpenWithCompareState();
        var txn = KvCommand.Txn(
            [KvCompare.Exists(B("a")), KvCompare.Value(B("b"), KvCompareOperator.Equal, B("not x"))],
            [KvOp.Put(B("s"), B("1")), KvOp.Delete(B("a"))],
            [KvOp.Put(B("f"), B("1")), KvOp.Get(B("a"))]);

        var result = machine.Apply(E(4, txn));

        Assert.False(result.Succeeded);
        Assert.Null(machine.Get(B("s")));
        Assert.NotNull(machine.Get(B("a")));
        Assert.Equal(new KvRecord(B("f"), B("1"), 4, 4, 1), machine.Get(B("f")));
        Assert.Equal([KvOpKind.Put, KvOpKind.Get], result.Results.Select(r => r.Kind));
        Assert.Equal(new KvRecord(B("a"), B("m"), 1, 3, 2), result.Results[1].Record);
    }

    [Fact]
    public void Txn_WritingSeveralKeys_SharesOneNewRevision()
    {
        using var machine = OpenWithCompareState();
        var txn = KvCommand.Txn(
            [KvCompare.Version(B("a"), KvCompareOperator.Equal, 2)],
            [KvOp.Put(B("x"), B("1")), KvOp.Put(B("a"), B("2")), KvOp.Delete(B("b")), KvOp.Delete(B("missing"))],
            []);

        var result = machine.Apply(E(4, txn));

        Assert.True(result.Succeeded);
        Assert.Equal(4, result.Revision);
        Assert.Equal(4, machine.Revision);
        Assert.Equal(new KvRecord(B("x"), B("1"), 4, 4, 1), machine.Get(B("x")));
        Assert.Equal(new KvRecord(B("a"), B("2"), 1, 4, 3), machine.Get(B("a")));
        Assert.Null(machine.Get(B("b")));
        Assert.Equal([0, 0, 1, 0], result.Results.Select(r => r.Deleted));
        Assert.All(machine.EventsSince(3, 100).Events, e => Assert.Equal(4, e.Revision));
        Assert.Equal(3, machine.EventsSince(3, 100).Events.Count);
    }

    [Fact]
    public void Txn_ReadOnlyOrDeletingNothing_LeavesTheRevisionUnchanged()
    {
        using var machine = OpenWithCompareState();

        var reads = machine.Apply(E(4, KvCommand.Txn([], [KvOp.Get(B("a")), KvOp.Get(B("missing"))], [])));
        var nothing = machine.Apply(E(5, KvCommand.Txn([], [KvOp.Delete(B("missing"))], [])));

        Assert.Equal(3, reads.Revision);
        Assert.Equal(3, nothing.Revision);
        Assert.Equal(3, machine.Revision);
        Assert.Equal(5, machine.AppliedIndex);
        Assert.Equal(new KvRecord(B("a"), B("m"), 1, 3, 2), reads.Results[0].Record);
        Assert.Null(reads.Results[1].Record);
        Assert.Empty(machine.EventsSince(3, 10).Events);

        // The next write takes the very next revision.
        machine.Apply(Put(6, "c", "1"));
        Assert.Equal(4, machine.Get(B("c"))!.ModRevision);
    }

    [Fact]
    public void Txn_GetAfterPutInTheSameTxn_SeesThePut()
    {
        using var machine = OpenWithCompareState();

        var result = machine.Apply(E(4, KvCommand.Txn([], [KvOp.Get(B("a")), KvOp.Put(B("a"), B("new")), KvOp.Get(B("a"))], [])));

        Assert.Equal(new KvRecord(B("a"), B("m"), 1, 3, 2), result.Results[0].Record);
        Assert.Equal(new KvRecord(B("a"), B("new"), 1, 4, 3), result.Results[2].Record);
    }

    [Fact]
    public void Txn_OverTheOperationLimit_ThrowsNamingTheLimit()
    {
        var ops = Enumerable.Range(0, 129).Select(i => KvOp.Put(B($"k{i}"), B("v"))).ToList();

        var error = Assert.Throws<ArgumentException>(() => KvCommand.Txn([], ops, []));
        var atLimit = KvCommand.Txn([], ops.Take(128).ToList(), []);
        var configured = Assert.Throws<ArgumentException>(() =>
            KvCommand.Txn([KvCompare.Exists(B("a")), KvCompare.Exists(B("b")), KvCompare.Exists(B("c"))], [], [], new KvLimits { MaxTxnOps = 2 }));

        Assert.Contains("txn has 129 success operations; the limit is 128 (KvLimits.MaxTxnOps)", error.Message);
        Assert.Equal(128, atLimit.Success.Count);
        Assert.Contains("txn has 3 compares; the limit is 2 (KvLimits.MaxTxnOps)", configured.Message);
    }

    [Fact]
    public void Txn_BranchWritingAKeyTwice_Throws()
    {
        var error = Assert.Throws<ArgumentException>(() => KvCommand.Txn([], [], [KvOp.Put(B("k"), B("1")), KvOp.Delete(B("k"))]));

        Assert.Contains("failure branch writes key 6B twice", error.Message);
    }

    [Fact]
    public void Txn_KeyOverLimitInAnOperation_ThrowsNamingTheLimit()
    {
        var error = Assert.Throws<ArgumentException>(() => KvCommand.Txn([], [KvOp.Get(new byte[5000])], []));

        Assert.Contains("KvLimits.MaxKeyBytes", error.Message);
    }

    [Fact]
    public void LeaseRevoke_DeletesEveryAttachedKeyAtOneRevision()
    {
        using var machine = Open();
        Assert.Equal(KvApplyError.None, machine.Apply(E(1, KvCommand.LeaseGrant(7, 5000))).Error);
        machine.Apply(Put(2, "a", "1", lease: 7));
        machine.Apply(Put(3, "b", "2", lease: 7));
        machine.Apply(Put(4, "c", "3"));

        Assert.Equal(new KvRecord(B("a"), B("1"), 1, 1, 1, 7), machine.Get(B("a")));
        Assert.Equal(["a", "b"], machine.GetLease(7)!.Keys.Select(S));

        var result = machine.Apply(E(5, KvCommand.LeaseRevoke(7)));

        Assert.Equal(4, result.Revision);
        Assert.Equal(2, Assert.Single(result.Results).Deleted);
        Assert.Null(machine.Get(B("a")));
        Assert.Null(machine.Get(B("b")));
        Assert.NotNull(machine.Get(B("c")));
        Assert.Null(machine.GetLease(7));
        Assert.Equal(0, machine.LeaseCount);
        var events = machine.EventsSince(3, 10).Events;
        Assert.Equal([("a", 4L), ("b", 4L)], events.Select(e => (S(e.Kv.Key), e.Revision)));
        Assert.All(events, e => Assert.Equal(KvEventType.Delete, e.Type));
    }

    [Fact]
    public void LeaseRevoke_LeaseWithoutKeys_RemovesItWithoutANewRevision()
    {
        using var machine = Open();
        machine.Apply(Put(1, "a", "1"));
        machine.Apply(E(2, KvCommand.LeaseGrant(3, 1000)));

        var result = machine.Apply(E(3, KvCommand.LeaseRevoke(3)));

        Assert.Equal(KvApplyError.None, result.Error);
        Assert.Equal(1, machine.Revision);
        Assert.Equal(0, machine.LeaseCount);
    }

    [Fact]
    public void LeaseGrantOrRevoke_ExistingOrUnknownId_IsRefusedChangingNothing()
    {
        using var machine = Open();
        machine.Apply(E(1, KvCommand.LeaseGrant(3, 1000)));

        var again = machine.Apply(E(2, KvCommand.LeaseGrant(3, 9999)));
        var unknown = machine.Apply(E(3, KvCommand.LeaseRevoke(4)));

        Assert.Equal(KvApplyError.LeaseExists, again.Error);
        Assert.Equal(KvApplyError.LeaseNotFound, unknown.Error);
        Assert.Equal(1000, machine.GetLease(3)!.TtlMilliseconds);
        Assert.Equal(3, machine.AppliedIndex);
    }

    [Fact]
    public void Put_UnknownLease_IsRefusedChangingNothing()
    {
        using var machine = Open();
        machine.Apply(Put(1, "a", "1"));

        var put = machine.Apply(Put(2, "b", "2", lease: 99));
        var txn = machine.Apply(E(3, KvCommand.Txn([], [KvOp.Put(B("c"), B("3")), KvOp.Put(B("d"), B("4"), 99)], [])));

        Assert.Equal(KvApplyError.LeaseNotFound, put.Error);
        Assert.Equal(KvApplyError.LeaseNotFound, txn.Error);
        Assert.Empty(txn.Results);
        Assert.Null(machine.Get(B("b")));
        Assert.Null(machine.Get(B("c")));
        Assert.Equal(1, machine.Revision);
        Assert.Equal(3, machine.AppliedIndex);
    }

    [Fact]
    public void Put_WithAnotherLeaseOrNone_MovesOrDetachesTheKey()
    {
        using var machine = Open();
        machine.Apply(E(1, KvCommand.LeaseGrant(1, 1000)));
        machine.Apply(E(2, KvCommand.LeaseGrant(2, 2000)));
        machine.Apply(Put(3, "moved", "v", lease: 1));
        machine.Apply(Put(4, "freed", "v", lease: 1));
        machine.Apply(Put(5, "deleted", "v", lease: 1));

        machine.Apply(Put(6, "moved", "v2", lease: 2));
        machine.Apply(Put(7, "freed", "v2"));
        machine.Apply(E(8, KvCommand.Delete(B("deleted"))));

        Assert.Empty(machine.GetLease(1)!.Keys);
        Assert.Equal(["moved"], machine.GetLease(2)!.Keys.Select(S));
        Assert.Equal(new KvRecord(B("moved"), B("v2"), 1, 4, 2, 2), machine.Get(B("moved")));

        machine.Apply(E(9, KvCommand.LeaseRevoke(1)));
        Assert.NotNull(machine.Get(B("freed")));
        Assert.NotNull(machine.Get(B("moved")));
        Assert.Equal(6, machine.Revision);

        machine.Apply(E(10, KvCommand.LeaseRevoke(2)));
        Assert.Null(machine.Get(B("moved")));
        Assert.Equal(["freed"], Everything(machine).Select(r => S(r.Key)));
    }

    [Fact]
    public void Leases_CheckpointThenReopen_AreRebuiltWithTheirKeys()
    {
        using (var machine = Open())
        {
            machine.Apply(E(1, KvCommand.LeaseGrant(5, 5000)));
            machine.Apply(E(2, KvCommand.LeaseGrant(9, 9000)));
            machine.Apply(E(3, KvCommand.LeaseGrant(12, 100)));
            machine.Apply(Put(4, "a", "1", lease: 5));
            machine.Apply(Put(5, "b", "2", lease: 9));
            machine.Apply(Put(6, "c", "3", lease: 5));
            machine.Apply(Put(7, "d", "4"));
            machine.Checkpoint();
        }

        using var reopened = Open();
        var leases = reopened.Leases();

        Assert.Equal([(5L, 5000L), (9L, 9000L), (12L, 100L)], leases.Select(l => (l.Id, l.TtlMilliseconds)));
        Assert.Equal(["a", "c"], leases[0].Keys.Select(S));
        Assert.Equal(["b"], leases[1].Keys.Select(S));
        Assert.Empty(leases[2].Keys);
        Assert.Equal(new KvRecord(B("a"), B("1"), 1, 1, 1, 5), reopened.Get(B("a")));

        reopened.Apply(E(8, KvCommand.LeaseRevoke(5)));
        Assert.Equal(["b", "d"], Everything(reopened).Select(r => S(r.Key)));
        Assert.Equal(KvApplyError.LeaseExists, reopened.Apply(E(9, KvCommand.LeaseGrant(9, 1))).Error);
    }

    [Fact]
    public void Leases_ManyCheckpointed_SurviveReopen()
    {
        using (var machine = Open())
        {
            for (var i = 1; i <= 2000; i++)
            {
                machine.Apply(E(i, KvCommand.LeaseGrant(i, i * 10)));
            }

            machine.Checkpoint();
        }

        using var reopened = Open();

        Assert.Equal(2000, reopened.LeaseCount);
        Assert.Equal(20000, reopened.GetLease(2000)!.TtlMilliseconds);
    }

    [Fact]
    public void EventsSince_MixedCommands_ReturnsEveryEventInOrder()
    {
        using var machine = Open();
        machine.Apply(Put(1, "a", "1"));                                              // revision 1
        machine.Apply(E(2, KvCommand.LeaseGrant(4, 1000)));                          // no revision
        machine.Apply(Put(3, "b", "2", lease: 4));                                   // 2
        machine.Apply(E(4, KvCommand.Delete(B("a"))));                               // 3
        machine.Apply(E(5, KvCommand.Txn([], [KvOp.Put(B("c"), B("3")), KvOp.Put(B("a"), B("4"))], []))); // 4
        machine.Apply(E(6, KvCommand.Delete(B("missing"))));                         // no revision
        machine.Apply(E(7, KvCommand.LeaseRevoke(4)));                               // 5

        var batch = machine.EventsSince(0, 100);

        Assert.False(batch.Compacted);
        Assert.Equal(5, batch.Revision);
        Assert.Equal(
            [(KvEventType.Put, "a", 1L), (KvEventType.Put, "b", 2L), (KvEventType.Delete, "a", 3L), (KvEventType.Put, "c", 4L), (KvEventType.Put, "a", 4L), (KvEventType.Delete, "b", 5L)],
            batch.Events.Select(e => (e.Type, S(e.Kv.Key), e.Revision)));
        Assert.Equal(new KvRecord(B("a"), B("4"), 4, 4, 1), batch.Events[4].Kv);
        Assert.Equal(4, batch.Events[1].Kv.Lease);
        Assert.Equal([(KvEventType.Delete, "b")], machine.EventsSince(4, 100).Events.Select(e => (e.Type, S(e.Kv.Key))));
        Assert.Empty(machine.EventsSince(5, 100).Events);
    }

    [Fact]
    public void EventsSince_Limit_StopsBetweenRevisionsNeverInside()
    {
        using var machine = Open();
        machine.Apply(Put(1, "a", "1"));
        machine.Apply(E(2, KvCommand.Txn([], [KvOp.Put(B("b"), B("2")), KvOp.Put(B("c"), B("3"))], [])));
        machine.Apply(Put(3, "d", "4"));

        var one = machine.EventsSince(0, 1);
        var two = machine.EventsSince(0, 2);
        var rest = machine.EventsSince(1, 1);

        Assert.Equal([1L], one.Events.Select(e => e.Revision));
        Assert.Equal([1L, 2L, 2L], two.Events.Select(e => e.Revision));
        Assert.Equal([2L, 2L], rest.Events.Select(e => e.Revision));
    }

    [Fact]
    public void EventsSince_OlderThanTheHistory_AnswersCompactedWithTheOldestRevisionHeld()
    {
        using var machine = Open(new KvStateMachineOptions
        {
            HistoryRevisions = 5,
            IndexSizeBytes = 1 << 20,
            PageSizeBits = 21,
            MemorySizeBits = 23,
            SegmentSizeBits = 24,
        });
        for (var i = 1; i <= 10; i++)
        {
            machine.Apply(Put(i, $"k{i}", "v"));
        }

        var compacted = machine.EventsSince(4, 100);
        var held = machine.EventsSince(5, 100);

        Assert.True(compacted.Compacted);
        Assert.Equal(6, compacted.OldestRevision);
        Assert.Empty(compacted.Events);
        Assert.False(held.Compacted);
        Assert.Equal([6L, 7L, 8L, 9L, 10L], held.Events.Select(e => e.Revision));
    }

    [Fact]
    public void EventsSince_LongHistory_KeepsOnlyTheLastRevisions()
    {
        using var machine = Open(new KvStateMachineOptions
        {
            HistoryRevisions = 100,
            IndexSizeBytes = 1 << 20,
            PageSizeBits = 21,
            MemorySizeBits = 23,
            SegmentSizeBits = 24,
        });
        for (var i = 1; i <= 5000; i++)
        {
            machine.Apply(Put(i, $"k{i % 50}", $"v{i}"));
        }

        var batch = machine.EventsSince(4900, 1000);

        Assert.True(machine.EventsSince(4899, 10).Compacted);
        Assert.Equal(Enumerable.Range(4901, 100).Select(i => (long)i), batch.Events.Select(e => e.Revision));
        Assert.Equal("v5000", S(batch.Events[^1].Kv.Value));
    }

    [Fact]
    public void EventsSince_AfterReopen_StartsEmptyAtTheRecoveredRevision()
    {
        using (var machine = Open())
        {
            machine.Apply(Put(1, "a", "1"));
            machine.Apply(Put(2, "b", "2"));
            machine.Checkpoint();
        }

        using var reopened = Open();
        var before = reopened.EventsSince(1, 10);
        var atRecovered = reopened.EventsSince(2, 10);
        reopened.Apply(Put(3, "c", "3"));

        Assert.True(before.Compacted);
        Assert.Equal(3, before.OldestRevision);
        Assert.False(atRecovered.Compacted);
        Assert.Empty(atRecovered.Events);
        Assert.Equal([(3L, "c")], reopened.EventsSince(2, 10).Events.Select(e => (e.Revision, S(e.Kv.Key))));
    }

    [Fact]
    public void Apply_RandomHistoryOfEveryKind_EqualsFreshReplayAcrossReopensAndTheModel()
    {
        var history = RandomHistory(new Random(20240611), 600);
        var model = new Model();
        using var fresh = KvStateMachine.Open(Path.Combine(_directory.Path, "fresh"), _small);
        foreach (var entry in history)
        {
            var result = fresh.Apply(entry);
            var (succeeded, error) = model.Apply(entry);
            Assert.Equal(succeeded, result.Succeeded);
            Assert.Equal(error, result.Error);
            Assert.Equal(model.Revision, result.Revision);
        }

        var reopened = Open();
        try
        {
            for (var i = 0; i < history.Count; i += 100)
            {
                // Replay from a little before the checkpoint, as the agent does.
                foreach (var entry in history.Skip(Math.Max(0, i - 30)).Take(130))
                {
                    reopened.Apply(entry);
                }

                reopened.Checkpoint();
                reopened.Dispose();
                reopened = Open();
            }

            Assert.Equal(history.Count, reopened.AppliedIndex);
            var expected = Everything(fresh);
            Assert.NotEmpty(expected);
            Assert.Equal(model.Records(), expected);
            Assert.Equal(expected, Everything(reopened));
            Assert.Equal(model.Revision, fresh.Revision);
            Assert.Equal(fresh.Revision, reopened.Revision);
            var leases = model.Leases();
            Assert.NotEmpty(leases);
            Assert.Equal(leases, Describe(fresh.Leases()));
            Assert.Equal(leases, Describe(reopened.Leases()));
        }
        finally
        {
            reopened.Dispose();
        }
    }

    private static List<string> Describe(IReadOnlyList<KvLease> leases) =>
        [.. leases.Select(l => $"{l.Id}/{l.TtlMilliseconds}: {string.Join(",", l.Keys.Select(S))}")];

    private static List<Entry> RandomHistory(Random random, int count)
    {
        string Key() => $"k{random.Next(12):D2}";
        long Lease() => random.Next(1, 5);
        KvOp Op() => random.Next(6) switch
        {
            0 or 1 => KvOp.Put(B(Key()), B($"t{random.Next(100)}")),
            2 => KvOp.Put(B(Key()), B($"t{random.Next(100)}"), Lease()),
            3 => KvOp.Delete(B(Key())),
            _ => KvOp.Get(B(Key())),
        };

        // A branch writes a key at most once: repeated writes are dropped.
        List<KvOp> Branch()
        {
            var written = new HashSet<string>();
            return [.. Enumerable.Range(0, random.Next(4)).Select(_ => Op()).Where(o => o.Kind == KvOpKind.Get || written.Add(S(o.Key)))];
        }

        KvCompare Compare()
        {
            var key = B(Key());
            var op = (KvCompareOperator)random.Next(4);
            return random.Next(5) switch
            {
                0 => KvCompare.Version(key, op, random.Next(3)),
                1 => KvCompare.CreateRevision(key, op, random.Next(count / 2)),
                2 => KvCompare.ModRevision(key, op, random.Next(count / 2)),
                3 => KvCompare.Lease(key, op, random.Next(3)),
                _ => KvCompare.Value(key, op, B($"t{random.Next(100)}")),
            };
        }

        var entries = new List<Entry>();
        for (var i = 1; i <= count; i++)
        {
            var roll = random.Next(100);
            if (roll < 4)
            {
                entries.Add(new Entry(i, 2, EntryType.Normal, ReadOnlyMemory<byte>.Empty));
                continue;
            }

            var command = roll switch
            {
                < 30 => KvCommand.Put(B(Key()), B($"v{i}")),
                < 40 => KvCommand.Put(B(Key()), B($"v{i}"), Lease()),
                < 52 => KvCommand.Delete(B(Key())),
                < 80 => KvCommand.Txn(
                    [.. Enumerable.Range(0, random.Next(3)).Select(_ => Compare())],
                    Branch(),
                    Branch()),
                < 92 => KvCommand.LeaseGrant(Lease(), random.Next(1, 10) * 1000),
                _ => KvCommand.LeaseRevoke(Lease()),
            };
            entries.Add(E(i, command));
        }

        return entries;
    }

    // etcd's semantics over dictionaries: each command with an effective write raises the revision by one.
    private sealed class Model
    {
        private readonly Dictionary<string, KvRecord> _keys = [];
        private readonly Dictionary<long, long> _leases = [];

        public long Revision { get; private set; }

        public (bool Succeeded, KvApplyError Error) Apply(Entry entry)
        {
            if (entry.IsNoop)
            {
                return (true, KvApplyError.None);
            }

            var command = KvCommand.Decode(entry.Data);
            switch (command.Kind)
            {
                case KvCommandKind.LeaseGrant:
                    return (true, _leases.TryAdd(command.Lease, command.TtlMilliseconds) ? KvApplyError.None : KvApplyError.LeaseExists);
                case KvCommandKind.LeaseRevoke:
                    if (!_leases.Remove(command.Lease))
                    {
                        return (true, KvApplyError.LeaseNotFound);
                    }

                    var attached = _keys.Where(pair => pair.Value.Lease == command.Lease).Select(pair => pair.Key).ToList();
                    attached.ForEach(key => _keys.Remove(key));
                    Revision += attached.Count > 0 ? 1 : 0;
                    return (true, KvApplyError.None);
            }

            IReadOnlyList<KvOp> ops = command.Kind switch
            {
                KvCommandKind.Delete => [KvOp.Delete(command.Key)],
                KvCommandKind.Txn => [],
                _ => [KvOp.Put(command.Key, command.Value, command.Lease)],
            };
            var succeeded = command.Compares.All(c => Holds(c, _keys.GetValueOrDefault(S(c.Key))));
            if (command.Kind == KvCommandKind.Txn)
            {
                ops = succeeded ? command.Success : command.Failure;
            }

            if (ops.Any(o => o.Kind == KvOpKind.Put && o.Lease != 0 && !_leases.ContainsKey(o.Lease)))
            {
                return (succeeded, KvApplyError.LeaseNotFound);
            }

            var revision = Revision + 1;
            var changed = false;
            foreach (var op in ops)
            {
                var key = S(op.Key);
                if (op.Kind == KvOpKind.Put)
                {
                    _keys[key] = _keys.TryGetValue(key, out var old)
                        ? new KvRecord(op.Key.ToArray(), op.Value.ToArray(), old.CreateRevision, revision, old.Version + 1, op.Lease)
                        : new KvRecord(op.Key.ToArray(), op.Value.ToArray(), revision, revision, 1, op.Lease);
                    changed = true;
                }
                else if (op.Kind == KvOpKind.Delete)
                {
                    changed |= _keys.Remove(key);
                }
            }

            Revision += changed ? 1 : 0;
            return (succeeded, KvApplyError.None);
        }

        public List<KvRecord> Records()
        {
            var records = _keys.Values.ToList();
            records.Sort((x, y) => x.Key.Span.SequenceCompareTo(y.Key.Span));
            return records;
        }

        public List<string> Leases() =>
            [.. _leases.OrderBy(l => l.Key).Select(l =>
                $"{l.Key}/{l.Value}: {string.Join(",", Records().Where(r => r.Lease == l.Key).Select(r => S(r.Key)))}")];

        private static bool Holds(KvCompare compare, KvRecord? current)
        {
            int order;
            if (compare.Target == KvCompareTarget.Value)
            {
                if (current is null)
                {
                    return false;
                }

                order = string.CompareOrdinal(S(current.Value), S(compare.Bytes));
            }
            else
            {
                var actual = compare.Target switch
                {
                    KvCompareTarget.Version => current?.Version,
                    KvCompareTarget.CreateRevision => current?.CreateRevision,
                    KvCompareTarget.ModRevision => current?.ModRevision,
                    _ => current?.Lease,
                } ?? 0;
                order = actual.CompareTo(compare.Number);
            }

            return compare.Operator switch
            {
                KvCompareOperator.Equal => order == 0,
                KvCompareOperator.NotEqual => order != 0,
                KvCompareOperator.Greater => order > 0,
                _ => order < 0,
            };
        }
    }
}
