using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using FASTER.core;

namespace Kuorum.Storage.Log;

/// <summary>
/// FasterLog's commit records, kept in two 4 KiB slots of one preallocated file written in place with O_DSYNC.
/// FasterLog's default manager creates, syncs and deletes a file per commit, which measured here as about 80% of a
/// commit's time. Each slot is <c>[magic "KCMT"][metadata length][commit number][begin][until][metadata][crc32]</c>;
/// a commit overwrites the older slot, so the newest commit survives a write that never completes. A slot that is
/// written but fails its checksum is corruption (a killed process cannot tear a <c>pwrite</c>; only a power loss on
/// a device without atomic 4 KiB writes could): the journal refuses to open rather than fall back silently.
/// </summary>
internal sealed class SlotCommitManager : ILogCommitManager
{
    public const string FileName = "journal.commit";
    private const int SlotBytes = 4096;
    private const int HeaderBytes = 32;
    private const uint Magic = 0x544D434B; // "KCMT"

    private readonly string _path;
    private readonly int _fd;
    private readonly Slot?[] _slots = new Slot?[2];
    private bool _disposed;

    private readonly record struct Slot(long CommitNumber, long Begin, long Until, byte[] Metadata);

    private SlotCommitManager(string path, int fd)
    {
        _path = path;
        _fd = fd;
    }

    /// <summary>The newest commit on disk, or null before the first one.</summary>
    public (long Begin, long Until)? Newest => NewestSlot() is int slot ? (_slots[slot]!.Value.Begin, _slots[slot]!.Value.Until) : null;

    /// <summary>Opens (creating and preallocating if needed) the commit file in <paramref name="directory"/> and checks both slots.</summary>
    public static SlotCommitManager Open(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            var temporary = path + ".tmp";
            using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write))
            {
                file.Write(new byte[2 * SlotBytes]);
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, path);
            Posix.SyncDirectory(directory);
        }

        var fd = Posix.Open(path, Posix.ReadWrite | Posix.DataSync | Posix.CloseOnExec);
        if (fd < 0)
        {
            throw new IOException($"cannot open {path} (errno {Marshal.GetLastPInvokeError()})");
        }

        var manager = new SlotCommitManager(path, fd);
        try
        {
            manager.ReadSlots();
            return manager;
        }
        catch
        {
            manager.Dispose();
            throw;
        }
    }

    public void Commit(long beginAddress, long untilAddress, byte[] commitMetadata, long commitNum, bool forceWriteMetadata)
    {
        if (HeaderBytes + commitMetadata.Length + 4 > SlotBytes)
        {
            throw new IOException($"commit metadata of {commitMetadata.Length} bytes does not fit a {SlotBytes}-byte slot of {_path}");
        }

        var buffer = new byte[SlotBytes];
        var span = buffer.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(span[4..], commitMetadata.Length);
        BinaryPrimitives.WriteInt64LittleEndian(span[8..], commitNum);
        BinaryPrimitives.WriteInt64LittleEndian(span[16..], beginAddress);
        BinaryPrimitives.WriteInt64LittleEndian(span[24..], untilAddress);
        commitMetadata.CopyTo(span[HeaderBytes..]);
        var end = HeaderBytes + commitMetadata.Length;
        BinaryPrimitives.WriteUInt32LittleEndian(span[end..], Crc32.HashToUInt32(span[..end]));

        // Overwrite the slot not holding the newest commit.
        var target = NewestSlot() is int newest ? 1 - newest : 0;
        if (Posix.PWrite(_fd, buffer, SlotBytes, (long)target * SlotBytes) != SlotBytes)
        {
            throw new IOException($"writing commit {commitNum} to {_path} failed (errno {Marshal.GetLastPInvokeError()})");
        }

        _slots[target] = new Slot(commitNum, beginAddress, untilAddress, commitMetadata);
    }

    public IEnumerable<long> ListCommits() => NewestSlot() is int slot ? [_slots[slot]!.Value.CommitNumber] : [];

    public byte[] GetCommitMetadata(long commitNum) =>
        _slots.FirstOrDefault(s => s?.CommitNumber == commitNum)?.Metadata
        ?? throw new IOException($"commit {commitNum} is not in {_path}");

    // The file holds two slots whatever happens; older commits need no removal.
    public void RemoveCommit(long commitNum)
    {
    }

    public void RemoveAllCommits()
    {
    }

    public void OnRecovery(long commitNum)
    {
    }

    public void Dispose()
    {
        // FasterLog may dispose its commit manager too; closing a descriptor twice could close someone else's.
        if (!_disposed)
        {
            _disposed = true;
            _ = Posix.Close(_fd);
        }
    }

    private int? NewestSlot() =>
        _slots[0] is null && _slots[1] is null ? null
        : _slots[1] is null || (_slots[0] is { } a && a.CommitNumber > _slots[1]!.Value.CommitNumber) ? 0
        : 1;

    private void ReadSlots()
    {
        var bytes = File.ReadAllBytes(_path);
        if (bytes.Length != 2 * SlotBytes)
        {
            throw new StorageCorruptionException(_path, 0, $"a commit file of {2 * SlotBytes} bytes, found {bytes.Length}");
        }

        for (var slot = 0; slot < 2; slot++)
        {
            var span = bytes.AsSpan(slot * SlotBytes, SlotBytes);
            if (!span.ContainsAnyExcept((byte)0))
            {
                continue;
            }

            var offset = slot * SlotBytes;
            var length = BinaryPrimitives.ReadInt32LittleEndian(span[4..]);
            if (BinaryPrimitives.ReadUInt32LittleEndian(span) != Magic || length < 0 || HeaderBytes + length + 4 > SlotBytes)
            {
                throw new StorageCorruptionException(_path, offset, $"a commit slot starting \"KCMT\" with a metadata length in 0..{SlotBytes - HeaderBytes - 4}");
            }

            var end = HeaderBytes + length;
            var stored = BinaryPrimitives.ReadUInt32LittleEndian(span[end..]);
            var computed = Crc32.HashToUInt32(span[..end]);
            if (stored != computed)
            {
                throw new StorageCorruptionException(_path, offset + end, $"commit slot checksum 0x{computed:x8}, found 0x{stored:x8}");
            }

            _slots[slot] = new Slot(
                BinaryPrimitives.ReadInt64LittleEndian(span[8..]),
                BinaryPrimitives.ReadInt64LittleEndian(span[16..]),
                BinaryPrimitives.ReadInt64LittleEndian(span[24..]),
                span[HeaderBytes..end].ToArray());
        }
    }
}
