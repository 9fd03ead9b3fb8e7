using Kuorum.Raft;
using Kuorum.Storage.Snapshots;

namespace Kuorum.Storage.Tests.Snapshots;

public sealed class SnapshotStoreTests : IDisposable
{
    private static readonly Membership _members = new([1, 2, 3], [4]);
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private static byte[] Data(int length, int seed) => [.. Enumerable.Range(0, length).Select(i => (byte)((i * 31) + seed))];

    [Fact]
    public async Task SaveAsync_ThenLatest_ReturnsMetadataAndData()
    {
        var store = new SnapshotStore(_directory.Path);
        var data = Data(300_000, 1);
        await store.SaveAsync(new SnapshotMetadata(42, 3, _members), data);

        var latest = new SnapshotStore(_directory.Path).Latest();

        Assert.NotNull(latest);
        Assert.Equal(new SnapshotMetadata(42, 3, _members), latest.Metadata);
        Assert.Equal(data, latest.ReadAll());
    }

    [Fact]
    public async Task SaveAsync_StreamedData_ReadsBackWithTheFileChecksum()
    {
        var store = new SnapshotStore(_directory.Path);
        var data = Data(200_000, 5);
        var saved = await store.SaveAsync(new SnapshotMetadata(9, 2, _members), async (stream, token) =>
        {
            // In uneven pieces, as a writer streaming records does.
            for (var at = 0; at < data.Length; at += 7_777)
            {
                await stream.WriteAsync(data.AsMemory(at, Math.Min(7_777, data.Length - at)), token);
            }
        });

        var latest = new SnapshotStore(_directory.Path).Latest();

        Assert.NotNull(latest);
        Assert.Equal(data.Length, saved.Length);
        Assert.Equal(new SnapshotMetadata(9, 2, _members), latest.Metadata);
        Assert.Equal(data, latest.ReadAll());
        using var stream = latest.OpenData();
        var read = new byte[data.Length];
        stream.ReadExactly(read);
        Assert.Equal(data, read);
    }

    [Fact]
    public async Task Find_ExactMetadata_ReturnsItAndNullForAnother()
    {
        var store = new SnapshotStore(_directory.Path);
        await store.SaveAsync(new SnapshotMetadata(10, 1, _members), Data(100, 1));
        await store.SaveAsync(new SnapshotMetadata(20, 2, _members), Data(100, 2));

        Assert.Equal(Data(100, 1), store.Find(new SnapshotMetadata(10, 1, _members))!.ReadAll());
        Assert.Null(store.Find(new SnapshotMetadata(10, 2, _members)));
        Assert.Null(store.Find(new SnapshotMetadata(30, 2, _members)));
    }

    [Fact]
    public async Task Find_HeaderDisagreesWithTheMetadata_ThrowsNamingTheFile()
    {
        var store = new SnapshotStore(_directory.Path);
        var saved = await store.SaveAsync(new SnapshotMetadata(10, 1, _members), Data(100, 1));

        var error = Assert.Throws<StorageCorruptionException>(() => store.Find(new SnapshotMetadata(10, 1, new Membership([1]))));

        Assert.Equal(saved.File, error.File);
        Assert.Contains("header to say snapshot 10/1", error.Message);
    }

    [Fact]
    public async Task DeleteNewerThan_RemovesOnlyLaterSnapshots()
    {
        var store = new SnapshotStore(_directory.Path);
        await store.SaveAsync(new SnapshotMetadata(10, 1, _members), Data(100, 1));
        await store.SaveAsync(new SnapshotMetadata(20, 2, _members), Data(100, 2));

        store.DeleteNewerThan(new SnapshotMetadata(10, 1, _members));

        Assert.Equal(new SnapshotMetadata(10, 1, _members), store.Latest()!.Metadata);
        store.DeleteNewerThan(new SnapshotMetadata(0, 0, Membership.Empty));
        Assert.Null(store.Latest());
    }

    [Fact]
    public async Task Read_InChunks_ReassemblesTheSameBytes()
    {
        var store = new SnapshotStore(_directory.Path);
        var data = Data(100_003, 7);
        var snapshot = await store.SaveAsync(new SnapshotMetadata(9, 1, _members), data);

        var assembled = new List<byte>();
        var chunk = new byte[4096];
        for (long offset = 0; offset < snapshot.Length;)
        {
            var read = snapshot.Read(offset, chunk);
            assembled.AddRange(chunk[..read]);
            offset += read;
        }

        Assert.Equal(data, assembled);
        Assert.Equal(0, snapshot.Read(snapshot.Length, chunk));
        Assert.Throws<ArgumentOutOfRangeException>(() => snapshot.Read(snapshot.Length + 1, chunk));
    }

    [Fact]
    public async Task SaveAsync_Several_KeepsNewestAndOneOlder()
    {
        var store = new SnapshotStore(_directory.Path);
        for (var i = 1; i <= 4; i++)
        {
            await store.SaveAsync(new SnapshotMetadata(i * 10, i, _members), Data(10, i));
        }

        Assert.Equal(40, store.Latest()!.Metadata.Index);
        Assert.Equal(2, Directory.GetFiles(_directory.Path, "*.snap").Length);
    }

    [Fact]
    public void Latest_EmptyStore_IsNull() => Assert.Null(new SnapshotStore(_directory.Path).Latest());

    [Fact]
    public async Task Constructor_LeftoverTemporaryFile_IsRemovedAndIgnored()
    {
        var store = new SnapshotStore(_directory.Path);
        await store.SaveAsync(new SnapshotMetadata(5, 1, _members), Data(10, 1));
        await File.WriteAllBytesAsync(Path.Combine(_directory.Path, "snap-00000000000000000009-00000000000000000002.snap.tmp"), Data(5, 2));

        var reopened = new SnapshotStore(_directory.Path);

        Assert.Equal(5, reopened.Latest()!.Metadata.Index);
        Assert.Empty(Directory.GetFiles(_directory.Path, "*.tmp"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(9)]
    [InlineData(30)]
    [InlineData(70)]
    [InlineData(500)]
    [InlineData(-1)]
    public async Task Latest_ByteFlipped_RefusesNamingFileAndOffset(int position)
    {
        var store = new SnapshotStore(_directory.Path);
        var saved = await store.SaveAsync(new SnapshotMetadata(7, 2, _members), Data(1000, 3));
        var bytes = await File.ReadAllBytesAsync(saved.File);
        bytes[position >= 0 ? position : bytes.Length - 1] ^= 0x10;
        await File.WriteAllBytesAsync(saved.File, bytes);

        var error = Assert.Throws<StorageCorruptionException>(() => store.Latest());

        Assert.Equal(saved.File, error.File);
        Assert.Contains("expected", error.Message);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(60)]
    [InlineData(900)]
    public async Task Latest_TruncatedFile_RefusesInsteadOfUsingAnOlderSnapshot(int keep)
    {
        var store = new SnapshotStore(_directory.Path);
        await store.SaveAsync(new SnapshotMetadata(3, 1, _members), Data(1000, 1));
        var newest = await store.SaveAsync(new SnapshotMetadata(7, 2, _members), Data(1000, 2));
        using (var file = File.OpenWrite(newest.File))
        {
            file.SetLength(keep);
        }

        var error = Assert.Throws<StorageCorruptionException>(() => store.Latest());
        Assert.Equal(newest.File, error.File);
    }
}

public sealed class SnapshotPolicyTests
{
    private static readonly SnapshotPolicy _policy = new() { MaxEntries = 100, MaxBytes = 1000, MaxAge = TimeSpan.FromMinutes(1) };

    [Theory]
    [InlineData(99, 999, 59, false)]
    [InlineData(100, 0, 0, true)]
    [InlineData(1, 1000, 0, true)]
    [InlineData(1, 1, 60, true)]
    [InlineData(0, 0, 3600, false)]
    public void IsDue_BySizeOrAge_MatchesThresholds(long entries, long bytes, int ageSeconds, bool due) =>
        Assert.Equal(due, _policy.IsDue(entries, bytes, TimeSpan.FromSeconds(ageSeconds)));

    [Fact]
    public void Validate_NonPositiveMaxAge_NamesTheSetting()
    {
        var error = Assert.Throws<ArgumentException>(() => new SnapshotPolicy { MaxAge = TimeSpan.Zero }.Validate());
        Assert.Contains(nameof(SnapshotPolicy.MaxAge), error.Message);
    }
}
