using Kuorum.Raft;
using Kuorum.Storage.Log;

namespace Kuorum.Storage.Tests.Log;

public sealed class RaftJournalCorruptionTests : IDisposable
{
    private static readonly RaftJournalOptions _small = new() { PageSizeBits = 12, MemorySizeBits = 16, SegmentSizeBits = 20 };
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private string SegmentFile => Path.Combine(_directory.Path, "fasterlog.log.0");

    private string NewestCommitFile() => Directory.GetFiles(Path.Combine(_directory.Path, "log-commits"))
        .OrderByDescending(f => long.Parse(Path.GetFileName(f).Split('.')[1], System.Globalization.CultureInfo.InvariantCulture))
        .First();

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

    // FasterLog's commit record: length, version, checksum, begin address, until address, commit number. A flip in
    // the addresses changes what FasterLog would recover: the journal must refuse to open.
    [Theory]
    [InlineData(16, 0x40)]
    [InlineData(17, 0x01)]
    [InlineData(24, 0x08)]
    [InlineData(24, 0xFF)]
    [InlineData(25, 0x01)]
    public async Task Open_CommitRecordAddressFlipped_RefusesNamingTheFile(int offset, byte flip)
    {
        await WriteJournalAsync();
        var commit = NewestCommitFile();
        var bytes = await File.ReadAllBytesAsync(commit);
        bytes[offset] ^= flip;
        await File.WriteAllBytesAsync(commit, bytes);

        var error = Assert.Throws<StorageCorruptionException>(() => RaftJournal.Open(_directory.Path, _small));

        Assert.Contains("expected", error.Message);
        Assert.True(error.File.Contains("log-commits") || error.File.Contains("fasterlog.log"), error.Message);
    }

    // Any single flip in the commit record either stops the journal from opening or leaves what it reads
    // exactly as written: never wrong data.
    [Fact]
    public async Task Open_AnyCommitRecordByteFlipped_RefusesOrReadsExactlyWhatWasWritten()
    {
        await WriteJournalAsync();
        var commit = NewestCommitFile();
        var original = await File.ReadAllBytesAsync(commit);
        var refused = 0;
        for (var offset = 0; offset < 48; offset++)
        {
            var bytes = (byte[])original.Clone();
            bytes[offset] ^= 0x21;
            await File.WriteAllBytesAsync(commit, bytes);
            try
            {
                using var journal = RaftJournal.Open(_directory.Path, _small);
                Assert.Equal(20, journal.LastIndex);
                Assert.Equal(new HardState(1, 1, 19), journal.HardState);
                Assert.Equal(20, (await journal.ReadAsync(1, 20)).Count);
            }
            catch (StorageCorruptionException)
            {
                refused++;
            }

            // Opening may have committed again: put the original back under the newest name.
            foreach (var file in Directory.GetFiles(Path.Combine(_directory.Path, "log-commits")))
            {
                File.Delete(file);
            }

            await File.WriteAllBytesAsync(commit, original);
        }

        Assert.True(refused >= 16, $"only {refused} of 48 flips refused");
    }

    [Fact]
    public async Task Open_AllCommitBytesInverted_Refuses()
    {
        await WriteJournalAsync();
        var commit = NewestCommitFile();
        var bytes = await File.ReadAllBytesAsync(commit);
        for (var i = 0; i < 64; i++)
        {
            bytes[i] ^= 0xFF;
        }

        await File.WriteAllBytesAsync(commit, bytes);

        Assert.Throws<StorageCorruptionException>(() => RaftJournal.Open(_directory.Path, _small));
    }
}
