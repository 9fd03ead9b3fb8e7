using System.Buffers.Binary;
using System.Text;
using Kuorum.Raft;
using Kuorum.Storage.StateMachine;

namespace Kuorum.Storage.Tests.StateMachine;

public sealed class KvSnapshotTests : IDisposable
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

    private KvStateMachine Open(string name) => KvStateMachine.Open(Path.Combine(_directory.Path, name), _small);

    private static byte[] B(string text) => Encoding.UTF8.GetBytes(text);

    private static Entry E(long index, KvCommand command) => new(index, 1, EntryType.Normal, command.Encode());

    private static IReadOnlyList<KvRecord> Everything(KvStateMachine machine) => machine.Range(ReadOnlySpan<byte>.Empty, int.MaxValue);

    private static List<string> LeaseView(KvStateMachine machine) =>
        [.. machine.Leases().Select(l => $"{l.Id}/{l.TtlMilliseconds}: {string.Join(",", l.Keys.Select(k => Convert.ToHexString(k.Span)))}")];

    // Puts, overwrites, deletes, a txn, leases with keys, a revoked lease and a no-op: 30 entries.
    private static List<Entry> History()
    {
        var entries = new List<Entry>();
        void Add(KvCommand command) => entries.Add(E(entries.Count + 1, command));
        for (var i = 0; i < 12; i++)
        {
            Add(KvCommand.Put(B($"key/{i % 7}"), B($"value {i}")));
        }

        Add(KvCommand.LeaseGrant(5, 30_000));
        Add(KvCommand.LeaseGrant(9, 60_000));
        Add(KvCommand.Put(B("leased/a"), B("a"), 5));
        Add(KvCommand.Put(B("leased/b"), B("b"), 5));
        Add(KvCommand.Put(B("leased/c"), B("c"), 9));
        Add(KvCommand.Delete(B("key/3")));
        Add(KvCommand.Txn([KvCompare.Exists(B("key/1"))], [KvOp.Put(B("txn/x"), B("x")), KvOp.Delete(B("key/1")), KvOp.Put(B("key/2"), B("in txn"))], []));
        Add(KvCommand.LeaseGrant(12, 1_000));
        Add(KvCommand.Put(B("leased/d"), B("d"), 12));
        Add(KvCommand.LeaseRevoke(12));
        entries.Add(new Entry(entries.Count + 1, 2, EntryType.Normal, ReadOnlyMemory<byte>.Empty));
        Add(KvCommand.Put(B("empty"), ReadOnlyMemory<byte>.Empty));
        Add(KvCommand.Put(B("\u00ffhigh"), B("sorted last")));
        while (entries.Count < 30)
        {
            Add(KvCommand.Put(B($"key/{entries.Count % 5}"), B($"late {entries.Count}")));
        }

        return entries;
    }

    private KvStateMachine OpenWithHistory(string name)
    {
        var machine = Open(name);
        foreach (var entry in History())
        {
            machine.Apply(entry);
        }

        return machine;
    }

    private static async Task<byte[]> SnapshotOf(KvStateMachine machine)
    {
        using var stream = new MemoryStream();
        await machine.WriteSnapshotAsync(stream);
        return stream.ToArray();
    }

    private static void AssertSameState(KvStateMachine expected, KvStateMachine actual)
    {
        Assert.Equal(expected.AppliedIndex, actual.AppliedIndex);
        Assert.Equal(expected.Revision, actual.Revision);
        Assert.Equal(expected.KeyCount, actual.KeyCount);
        Assert.Equal(Everything(expected), Everything(actual));
        Assert.Equal(LeaseView(expected), LeaseView(actual));
    }

    [Fact]
    public async Task RestoreSnapshot_OnEmptyMachine_ReproducesKeysLeasesRevisionAndAppliedIndex()
    {
        using var source = OpenWithHistory("source");
        var snapshot = await SnapshotOf(source);
        using var target = Open("target");

        target.RestoreSnapshot(snapshot);

        AssertSameState(source, target);
        Assert.Equal(2, target.LeaseCount);
        Assert.Equal(["leased/a", "leased/b"], target.GetLease(5)!.Keys.Select(k => Encoding.UTF8.GetString(k.Span)));
    }

    [Fact]
    public async Task RestoreSnapshot_OverOtherState_ReplacesAllOfItAndResetsTheHistory()
    {
        using var source = OpenWithHistory("source");
        var snapshot = await SnapshotOf(source);
        using var target = Open("target");
        target.Apply(E(1, KvCommand.LeaseGrant(77, 5_000)));
        for (var i = 2; i <= 60; i++)
        {
            target.Apply(E(i, KvCommand.Put(B($"other/{i}"), B("x"), i % 2 == 0 ? 77 : 0)));
        }

        target.RestoreSnapshot(snapshot);

        AssertSameState(source, target);
        Assert.Null(target.Get(B("other/2")));
        Assert.Null(target.GetLease(77));
        var before = target.EventsSince(source.Revision - 1, 100);
        Assert.True(before.Compacted);
        Assert.Equal(source.Revision + 1, before.OldestRevision);
        var now = target.EventsSince(source.Revision, 100);
        Assert.False(now.Compacted);
        Assert.Empty(now.Events);
    }

    [Fact]
    public async Task RestoreSnapshot_ThenReopenAndApply_StaysEqualToTheSource()
    {
        using var source = OpenWithHistory("source");
        var snapshot = await SnapshotOf(source);
        using (var target = Open("target"))
        {
            target.RestoreSnapshot(snapshot);
        }

        using var reopened = Open("target");
        AssertSameState(source, reopened);

        // Both go on from the snapshot alike: the next entry, a revoke of a lease with keys, a put of a leased key.
        foreach (var entry in new[] { E(31, KvCommand.LeaseRevoke(5)), E(32, KvCommand.Put(B("leased/c"), B("again"), 9)) })
        {
            var expected = source.Apply(entry);
            var actual = reopened.Apply(entry);
            Assert.Equal(expected.Revision, actual.Revision);
        }

        AssertSameState(source, reopened);
        Assert.Equal(await SnapshotOf(source), await SnapshotOf(reopened));
    }

    [Fact]
    public async Task WriteSnapshotAsync_EqualStates_WriteEqualBytes()
    {
        using var first = OpenWithHistory("first");
        using var second = OpenWithHistory("second");
        second.Checkpoint();

        var bytes = await SnapshotOf(first);
        Assert.Equal(bytes, await SnapshotOf(second));
        second.Dispose();
        using var recovered = Open("second");

        Assert.Equal(bytes, await SnapshotOf(recovered));
    }

    [Fact]
    public async Task RestoreSnapshot_ValuesLargerThanABlock_RoundTrip()
    {
        var options = new KvStateMachineOptions { IndexSizeBytes = 1 << 16, PageSizeBits = 21, MemorySizeBits = 23, SegmentSizeBits = 24 };
        using var source = KvStateMachine.Open(Path.Combine(_directory.Path, "source"), options);
        var big = new byte[300_000];
        new Random(3).NextBytes(big);
        source.Apply(E(1, KvCommand.Put(B("big/1"), big)));
        for (var i = 2; i <= 2_000; i++)
        {
            source.Apply(E(i, KvCommand.Put(B($"small/{i:D5}"), B($"value {i}"))));
        }

        source.Apply(E(2_001, KvCommand.Put(B("big/2"), big.AsMemory(1, 200_000))));
        var snapshot = await SnapshotOf(source);
        using var target = KvStateMachine.Open(Path.Combine(_directory.Path, "target"), options);

        target.RestoreSnapshot(snapshot);

        AssertSameState(source, target);
        Assert.Equal(big, target.Get(B("big/1"))!.Value.ToArray());
    }

    [Fact]
    public async Task RestoreSnapshot_AnyFlippedByte_RefusedAndTheOldStateIsIntact()
    {
        using var source = Open("source");
        source.Apply(E(1, KvCommand.LeaseGrant(3, 1_000)));
        source.Apply(E(2, KvCommand.Put(B("a"), B("alpha"), 3)));
        source.Apply(E(3, KvCommand.Put(B("b"), B("beta"))));
        var snapshot = await SnapshotOf(source);
        using var target = OpenWithHistory("target");
        var before = Everything(target);

        for (var offset = 0; offset < snapshot.Length; offset++)
        {
            var corrupt = (byte[])snapshot.Clone();
            corrupt[offset] ^= 0x10;

            var error = Assert.Throws<StorageCorruptionException>(() => target.RestoreSnapshot(corrupt, "test snapshot"));

            Assert.Equal("test snapshot", error.File);
            Assert.InRange(error.Offset, 0, snapshot.Length);
        }

        Assert.Equal(30, target.AppliedIndex);
        Assert.Equal(before, Everything(target));
        target.Apply(E(31, KvCommand.Put(B("still"), B("usable"))));
        Assert.Equal(before.Count + 1, target.KeyCount);
    }

    [Fact]
    public async Task RestoreSnapshot_FlippedBytes_NameTheOffsetOfWhatFailed()
    {
        using var source = Open("source");
        source.Apply(E(1, KvCommand.LeaseGrant(3, 1_000)));
        source.Apply(E(2, KvCommand.Put(B("a"), B("alpha"), 3)));
        var snapshot = await SnapshotOf(source);
        using var target = Open("target");
        const int LeaseTableEnd = 40 + 16;
        const int FirstBlock = LeaseTableEnd + 4;

        Assert.Equal(0, RestoreFlipped(target, snapshot, 2).Offset); // magic
        Assert.Equal(36, RestoreFlipped(target, snapshot, 9).Offset); // applied index: header checksum
        Assert.Equal(LeaseTableEnd, RestoreFlipped(target, snapshot, 45).Offset); // a lease's id: table checksum
        Assert.Equal(FirstBlock, RestoreFlipped(target, snapshot, FirstBlock + 20).Offset); // a record's key: block checksum
        Assert.Contains("block checksum", RestoreFlipped(target, snapshot, FirstBlock + 20).Message);
    }

    private static StorageCorruptionException RestoreFlipped(KvStateMachine target, byte[] snapshot, int offset)
    {
        var corrupt = (byte[])snapshot.Clone();
        corrupt[offset] ^= 0x01;
        return Assert.Throws<StorageCorruptionException>(() => target.RestoreSnapshot(corrupt));
    }

    [Fact]
    public async Task RestoreSnapshot_TruncatedOrExtended_Refused()
    {
        using var source = OpenWithHistory("source");
        var snapshot = await SnapshotOf(source);
        using var target = Open("target");

        for (var length = 0; length < snapshot.Length; length += 7)
        {
            var error = Assert.Throws<StorageCorruptionException>(() => target.RestoreSnapshot(snapshot.AsSpan(0, length)));
            Assert.Contains("ends", error.Message);
        }

        var extended = snapshot.Concat(new byte[] { 0 }).ToArray();
        var trailing = Assert.Throws<StorageCorruptionException>(() => target.RestoreSnapshot(extended));
        Assert.Equal(snapshot.Length, trailing.Offset);
        Assert.Equal(0, target.AppliedIndex);
        Assert.Equal(0, target.KeyCount);
    }

    [Fact]
    public async Task RestoreSnapshot_WrongAppliedIndexForItsRaftMetadata_Refused()
    {
        using var source = OpenWithHistory("source");
        var snapshot = await SnapshotOf(source);
        using var target = Open("target");

        var error = Assert.Throws<StorageCorruptionException>(() => target.RestoreSnapshot(snapshot, "snap", expectedAppliedIndex: 29));

        Assert.Equal(8, error.Offset);
        Assert.Contains("applied index 29", error.Message);
        Assert.Equal(0, target.AppliedIndex);
    }

    [Fact]
    public async Task RestoreSnapshot_FromAFileStream_NamesTheFileAndFileOffsets()
    {
        using var source = OpenWithHistory("source");
        var snapshot = await SnapshotOf(source);
        var file = Path.Combine(_directory.Path, "snapshot.bin");
        var prefix = new byte[100];
        await File.WriteAllBytesAsync(file, [.. prefix, .. snapshot, .. new byte[] { 1, 2, 3, 4 }]);
        using var target = Open("target");

        using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read))
        {
            stream.Position = prefix.Length;
            target.RestoreSnapshot(stream);
        }

        AssertSameState(source, target);

        var bytes = await File.ReadAllBytesAsync(file);
        bytes[prefix.Length + 10] ^= 0xFF;
        await File.WriteAllBytesAsync(file, bytes);
        using var corrupt = new FileStream(file, FileMode.Open, FileAccess.Read);
        corrupt.Position = prefix.Length;
        var error = Assert.Throws<StorageCorruptionException>(() => target.RestoreSnapshot(corrupt));

        Assert.Equal(file, error.File);
        Assert.Equal(prefix.Length + 36, error.Offset);
        AssertSameState(source, target);
    }

    [Fact]
    public async Task RestoreSnapshot_UnseekableStream_Refused()
    {
        using var source = OpenWithHistory("source");
        using var pipe = new UnseekableStream(await SnapshotOf(source));
        using var target = Open("target");

        var error = Assert.Throws<ArgumentException>(() => target.RestoreSnapshot(pipe));

        Assert.Contains("seekable", error.Message);
    }

    [Fact]
    public async Task Open_AfterAnInterruptedRestore_OpensEmpty()
    {
        using (var machine = OpenWithHistory("target"))
        {
            machine.Checkpoint();
        }

        // What a crash between the restore's mark and its end leaves: the mark, and whatever files.
        await File.WriteAllBytesAsync(Path.Combine(_directory.Path, "target", "restore-in-progress"), []);

        using var reopened = Open("target");

        Assert.Equal(0, reopened.AppliedIndex);
        Assert.Equal(0, reopened.KeyCount);
        Assert.Equal(0, reopened.Revision);
        Assert.False(File.Exists(Path.Combine(_directory.Path, "target", "restore-in-progress")));
        reopened.Apply(E(1, KvCommand.Put(B("a"), B("b"))));
        Assert.Equal(1, reopened.KeyCount);
    }

    [Fact]
    public async Task WriteSnapshotAsync_Header_CarriesAppliedIndexRevisionAndCounts()
    {
        using var source = OpenWithHistory("source");

        var snapshot = await SnapshotOf(source);

        Assert.Equal("KVSN", Encoding.ASCII.GetString(snapshot, 0, 4));
        Assert.Equal(source.AppliedIndex, BinaryPrimitives.ReadInt64LittleEndian(snapshot.AsSpan(8)));
        Assert.Equal(source.Revision, BinaryPrimitives.ReadInt64LittleEndian(snapshot.AsSpan(16)));
        Assert.Equal(source.KeyCount, BinaryPrimitives.ReadInt64LittleEndian(snapshot.AsSpan(24)));
        Assert.Equal((uint)source.LeaseCount, BinaryPrimitives.ReadUInt32LittleEndian(snapshot.AsSpan(32)));
    }

    private sealed class UnseekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
