using Kuorum.Raft;
using Kuorum.Storage.Log;

namespace Kuorum.Storage.Tests.Log;

public sealed class RaftJournalCorruptionTests : IDisposable
{
    private static readonly RaftJournalOptions _small = new() { PageSizeBits = 12, MemorySizeBits = 16, SegmentSizeBits = 20 };
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private string SegmentFile => Path.Combine(_directory.Path, "fasterlog.log.0");



    private async Task WriteJournalAsync()
    {
        using var journal = RaftJournal.Open(_directory.Path, _small);
        for (var i = 1; i <= 20; i++)
        {
            await journal.AppendAsync([new Entry(i, 1, EntryType.Normal, new byte[100])], new HardState(1, 1, i - 1));
        }
    }

    [Theory]
    [InlineData(64 + 4 + 2)]
    [InlineData(64 + 4 + 20)]
    [InlineData(64 + 4 + 60)]
    [InlineData(2000)]
    public async Task Open_ByteFlippedInLog_RefusesNamingFileAndOffset(int fileOffset)
    {
        await WriteJournalAsync();
        var bytes = await File.ReadAllBytesAsync(SegmentFile);
        bytes[fileOffset] ^= 0x5A;
        await File.WriteAllBytesAsync(SegmentFile, bytes);

        var error = Assert.Throws<StorageCorruptionException>(() => RaftJournal.Open(_directory.Path, _small));

        Assert.Equal(SegmentFile, error.File);
        Assert.InRange(error.Offset, 0, fileOffset);
        Assert.Contains("expected", error.Message);
    }

    [Fact]
    public async Task Open_TruncatedLogFile_Refuses()
    {
        await WriteJournalAsync();
        using (var file = File.OpenWrite(SegmentFile))
        {
            file.SetLength(1000);
        }

        var error = Assert.Throws<StorageCorruptionException>(() => RaftJournal.Open(_directory.Path, _small));
        Assert.Contains("fasterlog", error.File);
    }

    private string CommitFile => Path.Combine(_directory.Path, "journal.commit");

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(9)]
    [InlineData(17)]
    [InlineData(25)]
    [InlineData(40)]
    [InlineData(4096 + 0)]
    [InlineData(4096 + 25)]
    [InlineData(4096 + 40)]
    public async Task Open_CommitSlotByteFlipped_RefusesNamingTheCommitFile(int offset)
    {
        await WriteJournalAsync();
        var bytes = await File.ReadAllBytesAsync(CommitFile);
        bytes[offset] ^= 0x21;
        await File.WriteAllBytesAsync(CommitFile, bytes);

        var error = Assert.Throws<StorageCorruptionException>(() => RaftJournal.Open(_directory.Path, _small));

        Assert.Equal(CommitFile, error.File);
        Assert.InRange(error.Offset, offset >= 4096 ? 4096 : 0, offset >= 4096 ? 8191 : 4095);
    }

    // Any single flip in the commit file either stops the journal from opening or leaves what it reads exactly as
    // written (a flip in a slot's unused tail): never wrong data.
    [Fact]
    public async Task Open_AnyCommitFileByteFlipped_RefusesOrReadsExactlyWhatWasWritten()
    {
        await WriteJournalAsync();
        var original = await File.ReadAllBytesAsync(CommitFile);
        var accepted = new List<int>();
        var offsets = Enumerable.Range(0, 160).Concat(Enumerable.Range(4096, 160)).Concat([1000, 5000, 8191]).ToList();
        foreach (var offset in offsets)
        {
            var bytes = (byte[])original.Clone();
            bytes[offset] ^= 0x21;
            await File.WriteAllBytesAsync(CommitFile, bytes);
            try
            {
                using var journal = RaftJournal.Open(_directory.Path, _small);
                Assert.Equal(20, journal.LastIndex);
                Assert.Equal(new HardState(1, 1, 19), journal.HardState);
                Assert.Equal(20, (await journal.ReadAsync(1, 20)).Count);
            }
            catch (StorageCorruptionException)
            {
                continue;
            }
            finally
            {
                await File.WriteAllBytesAsync(CommitFile, original);
            }

            accepted.Add(offset);
        }

        // Each slot's header, metadata and checksum take more than 64 bytes: flips there are always refused.
        Assert.DoesNotContain(accepted, o => o % 4096 < 64);
    }

    [Fact]
    public async Task Open_TruncatedCommitFile_Refuses()
    {
        await WriteJournalAsync();
        using (var file = File.OpenWrite(CommitFile))
        {
            file.SetLength(4096);
        }

        var error = Assert.Throws<StorageCorruptionException>(() => RaftJournal.Open(_directory.Path, _small));
        Assert.Equal(CommitFile, error.File);
    }
}
