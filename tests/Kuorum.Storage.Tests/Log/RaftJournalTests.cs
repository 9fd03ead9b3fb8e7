using Kuorum.Raft;
using Kuorum.Storage.Log;

namespace Kuorum.Storage.Tests.Log;

public sealed class RaftJournalTests : IDisposable
{
    private static readonly RaftJournalOptions _small = new() { PageSizeBits = 12, MemorySizeBits = 16, SegmentSizeBits = 20 };
    private static readonly Membership _members = new([1, 2, 3]);
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private RaftJournal Open() => RaftJournal.Open(_directory.Path, _small);

    private static Entry E(long index, long term, string data = "x") => new(index, term, EntryType.Normal, System.Text.Encoding.UTF8.GetBytes($"{data}{index}"));

    private static List<Entry> Range(long from, long to, long term) => [.. Enumerable.Range((int)from, (int)(to - from + 1)).Select(i => E(i, term))];

    [Fact]
    public async Task AppendAsync_ThenReopen_RecoversEntriesAndHardState()
    {
        using (var journal = Open())
        {
            await journal.AppendAsync(Range(1, 5, 1), new HardState(1, 2, 3));
            await journal.AppendAsync(Range(6, 7, 2), new HardState(2, 0, 6));
        }

        using var reopened = Open();
        Assert.Equal(new HardState(2, 0, 6), reopened.HardState);
        Assert.Equal(1, reopened.FirstIndex);
        Assert.Equal(7, reopened.LastIndex);
        var entries = await reopened.ReadAsync(1, 7);
        Assert.Equal([.. Range(1, 5, 1), .. Range(6, 7, 2)], entries);
    }

    [Fact]
    public async Task AppendAsync_ConflictingSuffix_TruncationIsDurable()
    {
        using (var journal = Open())
        {
            await journal.AppendAsync(Range(1, 6, 1), new HardState(1, 1, 2));
            // A new leader's entries replace 4..6.
            await journal.AppendAsync(Range(4, 5, 3), new HardState(3, 2, 2));
            Assert.Equal(5, journal.LastIndex);
        }

        using var reopened = Open();
        Assert.Equal(5, reopened.LastIndex);
        Assert.Equal([.. Range(1, 3, 1), .. Range(4, 5, 3)], await reopened.ReadAsync(1, 5));
        Assert.Equal(3, reopened.TermAt(4));
    }

    [Fact]
    public async Task CompactAsync_DropsPrefix_KeepsSuffixAndHardStateAcrossReopen()
    {
        using (var journal = Open())
        {
            await journal.AppendAsync(Range(1, 10, 1), new HardState(1, 1, 9));
            await journal.CompactAsync(new SnapshotMetadata(7, 1, _members));
            Assert.Equal(8, journal.FirstIndex);
            await journal.AppendAsync(Range(11, 12, 2), null);
        }

        using var reopened = Open();
        Assert.Equal(new SnapshotMetadata(7, 1, _members), reopened.Snapshot);
        Assert.Equal(new HardState(1, 1, 9), reopened.HardState);
        Assert.Equal(8, reopened.FirstIndex);
        Assert.Equal(12, reopened.LastIndex);
        Assert.Equal(1, reopened.TermAt(7));
        Assert.Null(reopened.TermAt(6));
        Assert.Equal([.. Range(8, 10, 1), .. Range(11, 12, 2)], await reopened.ReadAsync(8, 12));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await reopened.ReadAsync(5, 8));
    }

    [Fact]
    public async Task CompactAsync_AfterTruncation_ReplaysToTheSameLog()
    {
        using (var journal = Open())
        {
            await journal.AppendAsync(Range(1, 8, 1), new HardState(1, 1, 3));
            await journal.AppendAsync(Range(5, 9, 2), new HardState(2, 1, 6));
            await journal.CompactAsync(new SnapshotMetadata(6, 2, _members));
        }

        using var reopened = Open();
        Assert.Equal(7, reopened.FirstIndex);
        Assert.Equal(Range(7, 9, 2), await reopened.ReadAsync(7, 9));
    }

    [Fact]
    public async Task AppendAsync_InstalledSnapshot_ReplacesWholeLog()
    {
        using (var journal = Open())
        {
            await journal.AppendAsync(Range(1, 5, 1), new HardState(1, 1, 2));
            await journal.AppendAsync(Range(21, 22, 4), new HardState(4, 0, 20), new SnapshotMetadata(20, 3, _members));
        }

        using var reopened = Open();
        Assert.Equal(20, reopened.Snapshot.Index);
        Assert.Equal(21, reopened.FirstIndex);
        Assert.Equal(Range(21, 22, 4), await reopened.ReadAsync(21, 22));
        var state = await reopened.LoadStateAsync(null, applied: 0);
        Assert.Equal(20, state.Applied);
        Assert.Equal(2, state.Entries.Count);
    }

    [Fact]
    public async Task AppendAsync_GapAfterLastIndex_IsRefusedNamingTheAllowedRange()
    {
        using var journal = Open();
        await journal.AppendAsync(Range(1, 3, 1), null);

        var error = await Assert.ThrowsAsync<ArgumentException>(async () => await journal.AppendAsync(Range(6, 7, 1), null));

        Assert.Contains("1..4", error.Message);
        Assert.Equal(3, journal.LastIndex);
    }

    [Fact]
    public async Task RecoveredState_RestartsARaftNodeWithItsLog()
    {
        using (var journal = Open())
        {
            var node = RaftNode.Bootstrap(new RaftConfig { Id = 1, Random = new SeededRandom(1) }, [1L]);
            for (var i = 0; i < 30 && node.HasReady; i++)
            {
                var ready = node.GetReady();
                await journal.AppendAsync(ready.Entries, ready.HardState);
                node.Advance(ready);
                node.Tick();
            }

            node.Campaign();
            while (node.HasReady)
            {
                var ready = node.GetReady();
                await journal.AppendAsync(ready.Entries, ready.HardState);
                node.Advance(ready);
            }

            Assert.Equal(RaftRole.Leader, node.Role);
            Assert.True(node.Propose("hello"u8.ToArray()).IsAccepted);
            var last = node.GetReady();
            await journal.AppendAsync(last.Entries, last.HardState);
            node.Advance(last);
        }

        using var reopened = Open();
        var restarted = new RaftNode(new RaftConfig { Id = 1, Random = new SeededRandom(2) }, await reopened.LoadStateAsync(null, 0));
        Assert.Equal(reopened.LastIndex, restarted.LastIndex);
        Assert.Equal(reopened.HardState.Term, restarted.Term);
        Assert.Equal([1L], restarted.Membership.Voters);
    }
}
