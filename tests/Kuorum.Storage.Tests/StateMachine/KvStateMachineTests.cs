using System.Text;
using Kuorum.Raft;
using Kuorum.Storage.StateMachine;

namespace Kuorum.Storage.Tests.StateMachine;

public sealed class KvStateMachineTests : IDisposable
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

    private KvStateMachine Open() => KvStateMachine.Open(_directory.Path, _small);

    private static byte[] B(string text) => Encoding.UTF8.GetBytes(text);

    private static Entry Put(long index, string key, string value) =>
        new(index, 1, EntryType.Normal, KvCommand.Put(B(key), B(value)).Encode());

    private static Entry Delete(long index, string key) =>
        new(index, 1, EntryType.Normal, KvCommand.Delete(B(key)).Encode());

    private static Entry Noop(long index) => new(index, 2, EntryType.Normal, ReadOnlyMemory<byte>.Empty);

    private static void ApplyAll(KvStateMachine machine, IEnumerable<Entry> entries)
    {
        foreach (var entry in entries)
        {
            machine.Apply(entry);
        }
    }

    private static IReadOnlyList<KvRecord> Everything(KvStateMachine machine) => machine.Range(ReadOnlySpan<byte>.Empty, int.MaxValue);

    // A mixed history: creates, overwrites, deletes (some of missing keys), re-creates, no-ops and a conf change.
    private static List<Entry> History(int count)
    {
        var entries = new List<Entry>();
        for (var i = 1; i <= count; i++)
        {
            var key = $"key/{i % 37:D2}";
            entries.Add((i % 11) switch
            {
                0 => Noop(i),
                5 => new Entry(i, 1, EntryType.ConfChange, new byte[] { 1, 2, 3 }),
                3 or 7 => Delete(i, key),
                _ => Put(i, key, $"value {i}"),
            });
        }

        return entries;
    }

    [Fact]
    public void Apply_Put_GetReturnsValueAndRevisions()
    {
        using var machine = Open();

        Assert.True(machine.Apply(Put(1, "a", "one")).Applied);

        Assert.Equal(new KvRecord(B("a"), B("one"), 1, 1, 1), machine.Get(B("a")));
        Assert.Equal(1, machine.Revision);
        Assert.Equal(1, machine.AppliedIndex);
        Assert.Null(machine.Get(B("b")));
    }

    [Fact]
    public void Apply_Overwrite_KeepsCreateRevisionRaisesModRevisionAndVersion()
    {
        using var machine = Open();
        machine.Apply(Put(1, "a", "one"));
        machine.Apply(Put(2, "b", "two"));

        machine.Apply(Put(3, "a", "three, which is longer than one"));

        Assert.Equal(new KvRecord(B("a"), B("three, which is longer than one"), 1, 3, 2), machine.Get(B("a")));
        Assert.Equal(new KvRecord(B("b"), B("two"), 2, 2, 1), machine.Get(B("b")));
        Assert.Equal(3, machine.Revision);
    }

    [Fact]
    public void Apply_Delete_RemovesKeyAndRecreateStartsAtVersionOne()
    {
        using var machine = Open();
        machine.Apply(Put(1, "a", "one"));
        machine.Apply(Put(2, "a", "two"));

        machine.Apply(Delete(3, "a"));

        Assert.Null(machine.Get(B("a")));
        Assert.Equal(3, machine.Revision);
        Assert.Equal(0, machine.KeyCount);

        machine.Apply(Put(4, "a", "again"));
        Assert.Equal(new KvRecord(B("a"), B("again"), 4, 4, 1), machine.Get(B("a")));
    }

    [Fact]
    public void Apply_DeleteOfMissingKey_ChangesNoRevisionButAdvancesAppliedIndex()
    {
        using var machine = Open();
        machine.Apply(Put(1, "a", "one"));

        Assert.True(machine.Apply(Delete(2, "missing")).Applied);

        Assert.Equal(1, machine.Revision);
        Assert.Equal(2, machine.AppliedIndex);
        Assert.Equal(new KvRecord(B("a"), B("one"), 1, 1, 1), machine.Get(B("a")));
    }

    [Fact]
    public void Range_Prefix_ReturnsMatchingKeysInByteOrderUpToLimit()
    {
        using var machine = Open();
        string[] keys = ["b/2", "a", "b/10", "b/1", "b", "c", "b/\u00ff", "b0"];
        ApplyAll(machine, keys.Select((key, i) => Put(i + 1, key, key)));

        var all = machine.Range(B("b/"), 100);
        var limited = machine.Range(B("b/"), 2);

        Assert.Equal(["b/1", "b/10", "b/2", "b/\u00ff"], all.Select(r => Encoding.UTF8.GetString(r.Key.Span)));
        Assert.Equal(["b/1", "b/10"], limited.Select(r => Encoding.UTF8.GetString(r.Key.Span)));
        Assert.Equal(B("b/10"), all[1].Value.ToArray());
    }

    [Fact]
    public void Range_EmptyPrefix_ReturnsAllKeysInUnsignedByteOrder()
    {
        using var machine = Open();
        machine.Apply(new Entry(1, 1, EntryType.Normal, KvCommand.Put(new byte[] { 0x80 }, B("high")).Encode()));
        machine.Apply(new Entry(2, 1, EntryType.Normal, KvCommand.Put(new byte[] { 0x01, 0x00 }, B("low long")).Encode()));
        machine.Apply(new Entry(3, 1, EntryType.Normal, KvCommand.Put(new byte[] { 0x01 }, B("low")).Encode()));

        var keys = machine.Range(ReadOnlySpan<byte>.Empty, 10).Select(r => r.Key.ToArray()).ToList();

        Assert.Equal([new byte[] { 0x01 }, new byte[] { 0x01, 0x00 }, new byte[] { 0x80 }], keys);
    }

    [Fact]
    public void Range_PrefixAfterEveryKeyOrEmptyStore_ReturnsNothing()
    {
        using var machine = Open();
        Assert.Empty(machine.Range(B("a"), 10));

        machine.Apply(Put(1, "a", "one"));

        Assert.Empty(machine.Range(B("z"), 10));
        Assert.Empty(machine.Range(B("ab"), 10));
        Assert.Single(machine.Range(B("a"), 10));
    }

    [Fact]
    public void Range_LimitBelowOne_Throws()
    {
        using var machine = Open();

        Assert.Throws<ArgumentOutOfRangeException>(() => machine.Range(B("a"), 0));
    }

    [Fact]
    public void Apply_NoopConfChangeAndBootstrap_AdvanceAppliedIndexOnly()
    {
        using var machine = Open();
        machine.Apply(Put(1, "a", "one"));

        Assert.True(machine.Apply(Noop(2)).Applied);
        Assert.True(machine.Apply(new Entry(3, 2, EntryType.ConfChange, new byte[] { 7, 7 })).Applied);
        Assert.True(machine.Apply(new Entry(4, 2, EntryType.Bootstrap, new byte[] { 1 })).Applied);

        Assert.Equal(4, machine.AppliedIndex);
        Assert.Equal(1, machine.Revision);
        Assert.Equal([new KvRecord(B("a"), B("one"), 1, 1, 1)], Everything(machine));
    }

    [Fact]
    public void Apply_EntryAtOrBelowAppliedIndex_IsIgnored()
    {
        using var machine = Open();
        machine.Apply(Put(1, "a", "one"));
        machine.Apply(Put(2, "a", "two"));

        Assert.False(machine.Apply(Put(1, "a", "one")).Applied);
        Assert.False(machine.Apply(Put(2, "a", "other")).Applied);

        Assert.Equal(new KvRecord(B("a"), B("two"), 1, 2, 2), machine.Get(B("a")));
        Assert.Equal(2, machine.Revision);
    }

    [Fact]
    public void Apply_EntrySkippingAhead_ThrowsNamingTheNextIndex()
    {
        using var machine = Open();
        machine.Apply(Put(1, "a", "one"));

        var error = Assert.Throws<InvalidOperationException>(() => machine.Apply(Put(3, "b", "three")));

        Assert.Contains("needs entry 2 next", error.Message);
        Assert.Equal(1, machine.AppliedIndex);
        Assert.Null(machine.Get(B("b")));
    }

    [Fact]
    public void Apply_MalformedCommand_ThrowsNamingTheEntryAndAppliesNothing()
    {
        using var machine = Open();

        var error = Assert.Throws<InvalidDataException>(() => machine.Apply(new Entry(1, 3, EntryType.Normal, new byte[] { 42, 1 })));

        Assert.Contains("entry 1/3", error.Message);
        Assert.Equal(0, machine.AppliedIndex);
    }

    [Fact]
    public void Get_KeyOverLimit_ThrowsNamingTheLimit()
    {
        using var machine = KvStateMachine.Open(_directory.Path, new KvStateMachineOptions
        {
            Limits = new KvLimits { MaxKeyBytes = 16, MaxValueBytes = 1024 },
            IndexSizeBytes = 1 << 16,
            PageSizeBits = 16,
            MemorySizeBits = 18,
            SegmentSizeBits = 20,
        });

        var error = Assert.Throws<ArgumentException>(() => machine.Get(new byte[17]));

        Assert.Contains("key is 17 bytes; the limit is 16 (KvLimits.MaxKeyBytes)", error.Message);
    }

    [Fact]
    public void Open_PageSmallerThanLargestRecord_ThrowsNamingTheSettings()
    {
        var error = Assert.Throws<ArgumentException>(() => KvStateMachine.Open(_directory.Path, new KvStateMachineOptions { PageSizeBits = 20 }));

        Assert.Contains("PageSizeBits", error.Message);
        Assert.Contains("KvLimits.MaxValueBytes", error.Message);
    }

    [Fact]
    public void Open_WithoutCheckpoint_StartsEmpty()
    {
        using (var machine = Open())
        {
            machine.Apply(Put(1, "a", "one"));
        }

        using var reopened = Open();

        Assert.Equal(0, reopened.AppliedIndex);
        Assert.Equal(0, reopened.Revision);
        Assert.Null(reopened.Get(B("a")));
    }

    [Fact]
    public void Checkpoint_ThenReopen_RecoversStateAndIgnoresReplayedEntries()
    {
        var history = History(200);
        List<KvRecord> before;
        long revision;
        using (var machine = Open())
        {
            ApplyAll(machine, history);
            machine.Checkpoint();
            before = [.. Everything(machine)];
            revision = machine.Revision;
        }

        using var reopened = Open();
        Assert.Equal(200, reopened.AppliedIndex);
        Assert.Equal(revision, reopened.Revision);
        Assert.Equal(before, Everything(reopened));

        // The agent replays its log from an index it does not know precisely: every replayed entry is ignored.
        Assert.All(history, entry => Assert.False(reopened.Apply(entry).Applied));
        Assert.Equal(revision, reopened.Revision);
        Assert.Equal(before, Everything(reopened));
    }

    [Fact]
    public async Task CheckpointAsync_ThenReopen_ContinuesApplyingAfterTheAppliedIndex()
    {
        var history = History(300);
        using (var machine = Open())
        {
            ApplyAll(machine, history.Take(120));
            await machine.CheckpointAsync();

            // Applied but never checkpointed: lost on reopen, and replayed from the log.
            ApplyAll(machine, history.Skip(120).Take(50));
        }

        using (var reopened = Open())
        {
            Assert.Equal(120, reopened.AppliedIndex);
            ApplyAll(reopened, history.Skip(100));
            Assert.Equal(300, reopened.AppliedIndex);
            reopened.Checkpoint();
        }

        using var fresh = KvStateMachine.Open(Path.Combine(_directory.Path, "fresh"), _small);
        ApplyAll(fresh, history);
        using var again = Open();
        Assert.Equal(300, again.AppliedIndex);
        Assert.Equal(fresh.Revision, again.Revision);
        Assert.Equal(Everything(fresh), Everything(again));
    }

    [Fact]
    public void Apply_History_EqualsReplayIntoFreshStoreAcrossCheckpoints()
    {
        var history = History(500);
        using var checkpointed = Open();
        for (var i = 0; i < history.Count; i += 100)
        {
            ApplyAll(checkpointed, history.Skip(i).Take(100));
            checkpointed.Checkpoint();
        }

        using var fresh = KvStateMachine.Open(Path.Combine(_directory.Path, "fresh"), _small);
        ApplyAll(fresh, history);

        var expected = Everything(fresh);
        Assert.NotEmpty(expected);
        Assert.Equal(expected, Everything(checkpointed));
        Assert.Equal(fresh.Revision, checkpointed.Revision);
        Assert.Equal(fresh.AppliedIndex, checkpointed.AppliedIndex);

        // And both match a model of etcd's semantics.
        var (modelRecords, modelRevision) = Model(history);
        Assert.Equal(modelRecords, expected);
        Assert.Equal(modelRevision, fresh.Revision);
    }

    [Fact]
    public void Apply_100kKeys_RecoverAfterCheckpointWithEveryKey()
    {
        // ~15 MB of records against an 8 MiB in-memory log: the oldest keys are read back from disk.
        const int count = 100_000;
        static string V(int i) => $"v{i}".PadRight(100, '.');
        using (var machine = Open())
        {
            for (var i = 1; i <= count; i++)
            {
                machine.Apply(Put(i, $"k{i:D6}", V(i)));
            }

            machine.Apply(Delete(count + 1, "k000001"));
            machine.Checkpoint();
        }

        using var reopened = Open();
        Assert.Equal(count + 1, reopened.AppliedIndex);
        Assert.Equal(count + 1, reopened.Revision);
        Assert.Equal(count - 1, reopened.KeyCount);
        Assert.Null(reopened.Get(B("k000001")));
        Assert.Equal(new KvRecord(B("k000002"), B(V(2)), 2, 2, 1), reopened.Get(B("k000002")));
        Assert.Equal(new KvRecord(B("k100000"), B(V(count)), count, count, 1), reopened.Get(B("k100000")));
        var range = reopened.Range(B("k0500"), 1000);
        Assert.Equal(100, range.Count);
        Assert.Equal(B("k050000"), range[0].Key.ToArray());
        Assert.Equal(B(V(50099)), range[^1].Value.ToArray());

        // Updating a key whose record is on disk reads its revisions back from there.
        reopened.Apply(Put(count + 2, "k000002", "new"));
        Assert.Equal(new KvRecord(B("k000002"), B("new"), 2, count + 2, 2), reopened.Get(B("k000002")));
    }

    [Fact]
    public void Apply_LargeValue_RoundTripsThroughCheckpoint()
    {
        var value = new byte[KvLimits.DefaultMaxValueBytes];
        new Random(7).NextBytes(value);
        using (var machine = Open())
        {
            machine.Apply(new Entry(1, 1, EntryType.Normal, KvCommand.Put(B("big"), value).Encode()));
            machine.Checkpoint();
        }

        using var reopened = Open();
        Assert.Equal(value, reopened.Get(B("big"))!.Value.ToArray());
    }

    [Fact]
    public void Open_CorruptCheckpointMetadata_ThrowsStorageCorruptionNamingTheCheckpoints()
    {
        using (var machine = Open())
        {
            machine.Apply(Put(1, "a", "one"));
            machine.Checkpoint();
        }

        var checkpoints = Path.Combine(_directory.Path, "checkpoints");
        var files = Directory.GetFiles(checkpoints, "*", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            File.WriteAllBytes(file, new byte[new FileInfo(file).Length]);
        }

        var error = Assert.Throws<StorageCorruptionException>(Open);

        Assert.Equal(checkpoints, error.File);
        Assert.Contains("checkpoint", error.Message);
    }

    [Fact]
    public void Open_LogSegmentMissing_ThrowsStorageCorruptionInsteadOfOpeningWithKeysLost()
    {
        // Small pages and segments so that 5000 keys span several log files.
        var tiny = new KvStateMachineOptions
        {
            Limits = new KvLimits { MaxKeyBytes = 64, MaxValueBytes = 1024 },
            IndexSizeBytes = 1 << 16,
            PageSizeBits = 14,
            MemorySizeBits = 16,
            SegmentSizeBits = 17,
        };
        using (var machine = KvStateMachine.Open(_directory.Path, tiny))
        {
            for (var i = 1; i <= 5000; i++)
            {
                machine.Apply(Put(i, $"key {i}", "some value bytes"));
            }

            machine.Checkpoint();
        }

        Assert.True(File.Exists(Path.Combine(_directory.Path, "hlog.log.1")));
        File.Delete(Path.Combine(_directory.Path, "hlog.log.0"));

        // FASTER itself recovers without a word (the records read back as nothing); the key count sealed in the
        // checkpoint catches it.
        var error = Assert.Throws<StorageCorruptionException>(() => KvStateMachine.Open(_directory.Path, tiny));

        Assert.Contains("5000 live keys", error.Message);
    }

    [Fact]
    public void Apply_AfterDispose_ThrowsObjectDisposed()
    {
        var machine = Open();
        machine.Dispose();

        Assert.Throws<ObjectDisposedException>(() => machine.Apply(Put(1, "a", "one")));
    }

    // etcd's semantics over a dictionary: every effective Put or Delete raises the revision by one.
    private static (List<KvRecord> Records, long Revision) Model(IEnumerable<Entry> history)
    {
        var keys = new Dictionary<string, KvRecord>();
        long revision = 0;
        foreach (var entry in history.Where(e => e.Type == EntryType.Normal && !e.IsNoop))
        {
            var command = KvCommand.Decode(entry.Data);
            var key = Convert.ToHexString(command.Key.Span);
            if (command.Kind == KvCommandKind.Put)
            {
                revision++;
                keys[key] = keys.TryGetValue(key, out var old)
                    ? new KvRecord(command.Key.ToArray(), command.Value.ToArray(), old.CreateRevision, revision, old.Version + 1)
                    : new KvRecord(command.Key.ToArray(), command.Value.ToArray(), revision, revision, 1);
            }
            else if (keys.Remove(key))
            {
                revision++;
            }
        }

        var records = keys.Values.ToList();
        records.Sort((x, y) => x.Key.Span.SequenceCompareTo(y.Key.Span));
        return (records, revision);
    }
}
