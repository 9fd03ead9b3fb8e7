using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using FASTER.core;
using Kuorum.Raft;

namespace Kuorum.Storage.StateMachine;

/// <summary>
/// The agent's key-value state machine on <c>FasterKV&lt;SpanByte, SpanByte&gt;</c>. Committed Raft entries are
/// <see cref="Apply"/>d in index order; each Put or Delete that changes something raises the store's
/// <see cref="Revision"/> by one, and every key carries etcd's create revision, mod revision and version.
/// <para>
/// Durability is by <see cref="Checkpoint"/> only: applied entries live in FASTER's memory (and log) until a checkpoint
/// makes them durable together with <see cref="AppliedIndex"/> and <see cref="Revision"/>. <see cref="Open"/> recovers
/// the latest checkpoint, and the agent replays its Raft log from <see cref="AppliedIndex"/> + 1; entries at or below
/// the applied index are ignored, so replaying too much is harmless. The agent may compact its Raft log only up to the
/// applied index of a completed checkpoint.
/// </para>
/// <para>
/// FASTER is a hash index with no key order, so the state machine keeps every key in an in-memory sorted set for
/// <see cref="Range"/>, rebuilt on open by iterating the recovered store. That costs the keys a second time in managed
/// memory (about 80 bytes of overhead per key on top of its bytes) and an O(keys) scan on open; an ordered on-disk
/// index is later work.
/// </para>
/// Not thread-safe: the agent's single Raft loop owns it.
/// </summary>
public sealed class KvStateMachine : IDisposable
{
    private const string LogFileBaseName = "hlog.log";
    private const string CheckpointDirectoryName = "checkpoints";

    // The checkpoint cookie: [magic][format][applied index][revision][key count][crc32 of the rest], little endian.
    private const uint CookieMagic = 0x4D53564B; // "KVSM"
    private const uint CookieFormat = 1;
    private const int CookieBytes = 40;

    // Values up to this size are staged on the stack on their way into FASTER, larger ones in a pooled buffer.
    private const int StackValueBytes = 512;

    private readonly string _directory;
    private readonly KvStateMachineOptions _options;
    private readonly FasterKVSettings<SpanByte, SpanByte> _settings;
    private readonly FasterKV<SpanByte, SpanByte> _store;
    private readonly ClientSession<SpanByte, SpanByte, SpanByte, KvReadOutput, Empty, KvFunctions> _session;
    private readonly SortedSet<byte[]> _keys = new(ByteOrder.Instance);
    private Exception? _failure;
    private bool _disposed;

    private KvStateMachine(string directory, KvStateMachineOptions options, FasterKVSettings<SpanByte, SpanByte> settings, FasterKV<SpanByte, SpanByte> store)
    {
        _directory = directory;
        _options = options;
        _settings = settings;
        _store = store;
        _session = store.For(new KvFunctions()).NewSession<KvFunctions>();
    }

    /// <summary>Index of the last Raft entry applied (0 before any).</summary>
    public long AppliedIndex { get; private set; }

    /// <summary>The store's revision: the number of applied Puts and Deletes that changed something.</summary>
    public long Revision { get; private set; }

    /// <summary>Number of live keys.</summary>
    public int KeyCount => _keys.Count;

    /// <summary>
    /// Opens (creating if needed) the state machine in <paramref name="directory"/> and recovers its latest checkpoint.
    /// When the directory holds checkpoint files that do not recover, or whose contents fail Kuorum's checks, throws
    /// <see cref="StorageCorruptionException"/> naming the file or directory and what was expected; it never opens empty
    /// over an unreadable checkpoint.
    /// </summary>
    public static KvStateMachine Open(string directory, KvStateMachineOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        options ??= new KvStateMachineOptions();
        options.Validate();
        Directory.CreateDirectory(directory);
        var checkpoints = Path.Combine(directory, CheckpointDirectoryName);
        var hasCheckpoint = Directory.Exists(checkpoints)
            && Directory.EnumerateFiles(checkpoints, "*", SearchOption.AllDirectories).Any();

        var settings = new FasterKVSettings<SpanByte, SpanByte>(directory, deleteDirOnDispose: false)
        {
            IndexSize = options.IndexSizeBytes,
            PageSize = 1L << options.PageSizeBits,
            MemorySize = 1L << options.MemorySizeBits,
            SegmentSize = 1L << options.SegmentSizeBits,
            RemoveOutdatedCheckpoints = true,
        };
        FasterKV<SpanByte, SpanByte> store;
        try
        {
            store = new FasterKV<SpanByte, SpanByte>(settings);
        }
        catch
        {
            settings.Dispose();
            throw;
        }

        byte[]? cookie = null;
        if (hasCheckpoint)
        {
            try
            {
                store.Recover();
                cookie = store.RecoveredCommitCookie;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                store.Dispose();
                settings.Dispose();
                throw new StorageCorruptionException(checkpoints, 0, "a FASTER checkpoint that recovers (the directory holds checkpoint files)", e);
            }
        }

        var machine = new KvStateMachine(directory, options, settings, store);
        try
        {
            if (hasCheckpoint)
            {
                machine.Restore(checkpoints, cookie);
            }

            return machine;
        }
        catch
        {
            machine.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Applies a committed entry. Returns false, changing nothing, for an entry at or below <see cref="AppliedIndex"/>
    /// (a replay after recovery); throws <see cref="InvalidOperationException"/> for an entry that skips ahead. Normal
    /// entries with data carry a <see cref="KvCommand"/> (a malformed one throws <see cref="InvalidDataException"/>
    /// naming the entry); leader no-ops, ConfChange and Bootstrap entries only advance the applied index.
    /// </summary>
    public bool Apply(Entry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ThrowIfUnusable();
        if (entry.Index <= AppliedIndex)
        {
            return false;
        }

        if (entry.Index != AppliedIndex + 1)
        {
            throw new InvalidOperationException(
                $"entry {entry.Index} skips ahead: the state machine applied up to {AppliedIndex} and needs entry {AppliedIndex + 1} next");
        }

        switch (entry.Type)
        {
            case EntryType.Normal when !entry.Data.IsEmpty:
                KvCommand command;
                try
                {
                    command = KvCommand.Decode(entry.Data);
                }
                catch (InvalidDataException e)
                {
                    throw new InvalidDataException($"entry {entry.Index}/{entry.Term}: expected {e.Message}", e);
                }

                Execute(command);
                break;
            case EntryType.Normal or EntryType.ConfChange or EntryType.Bootstrap:
                break;
            default:
                throw new InvalidDataException($"entry {entry.Index}/{entry.Term}: unknown entry type {(byte)entry.Type}");
        }

        AppliedIndex = entry.Index;
        return true;
    }

    /// <summary>The key's value and revisions, or null when it does not exist.</summary>
    public KvRecord? Get(ReadOnlySpan<byte> key)
    {
        ThrowIfUnusable();
        _options.Limits.CheckKey(key);
        return TryRead(key, withValue: true, out var stored)
            ? new KvRecord(key.ToArray(), stored.Value!, stored.CreateRevision, stored.ModRevision, stored.Version)
            : null;
    }

    /// <summary>
    /// Up to <paramref name="limit"/> keys starting with <paramref name="prefix"/> (all keys for an empty prefix), with
    /// their values, in unsigned byte order.
    /// </summary>
    public IReadOnlyList<KvRecord> Range(ReadOnlySpan<byte> prefix, int limit)
    {
        ThrowIfUnusable();
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var records = new List<KvRecord>(Math.Min(limit, 256));
        if (_keys.Max is not { } last || prefix.SequenceCompareTo(last) > 0)
        {
            return records;
        }

        foreach (var key in _keys.GetViewBetween(prefix.ToArray(), last))
        {
            if (!key.AsSpan().StartsWith(prefix))
            {
                break;
            }

            if (!TryRead(key, withValue: true, out var stored))
            {
                throw KeySetMismatch(key);
            }

            records.Add(new KvRecord(key, stored.Value!, stored.CreateRevision, stored.ModRevision, stored.Version));
            if (records.Count == limit)
            {
                break;
            }
        }

        return records;
    }

    /// <summary>
    /// Makes everything applied so far durable, with <see cref="AppliedIndex"/> and <see cref="Revision"/> in the
    /// checkpoint's cookie, and completes when the checkpoint is on disk.
    /// </summary>
    public void Checkpoint() => CheckpointAsync().AsTask().GetAwaiter().GetResult();

    /// <inheritdoc cref="Checkpoint"/>
    public async ValueTask CheckpointAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfUnusable();

        // A log-only fold-over checkpoint: it flushes the log up to its tail into the log file and writes a small
        // metadata file; there is no copy of the in-memory log (as a Snapshot checkpoint writes) and no copy of the
        // hash index (as a full checkpoint writes, 64 bytes per bucket whatever the key count). Recovery then rebuilds
        // the index by scanning the log, which costs no more than the key-set rebuild scan done on open anyway. The
        // price: after a fold-over every record is read-only, so the next update of a key appends a new record
        // instead of updating in place, and the log grows until it is compacted (later work). FASTER removes the
        // previous checkpoint once this one completes.
        _store.CommitCookie = SealCookie(AppliedIndex, Revision, _keys.Count);
        var (success, _) = await _store.TakeHybridLogCheckpointAsync(CheckpointType.FoldOver, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!success)
        {
            throw new IOException($"FASTER in {_directory} refused to start a checkpoint (one is already in progress)");
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _session.Dispose();
        _store.Dispose();
        _settings.Dispose();
    }

    private void Execute(KvCommand command)
    {
        try
        {
            if (command.Kind == KvCommandKind.Put)
            {
                Put(command.Key.Span, command.Value.Span);
            }
            else
            {
                Delete(command.Key.Span);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // FASTER or the key set may hold half of the command: refuse further work; a reopen recovers the last
            // checkpoint and the Raft log replays from there.
            _failure = e;
            throw;
        }
    }

    private void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var keyBytes = key.ToArray();
        var revision = Revision + 1;
        var (createRevision, version) = (revision, 1L);
        if (_keys.Contains(keyBytes))
        {
            if (!TryRead(key, withValue: false, out var existing))
            {
                throw KeySetMismatch(keyBytes);
            }

            (createRevision, version) = (existing.CreateRevision, existing.Version + 1);
        }

        var length = StoredValue.HeaderBytes + value.Length;
        byte[]? rented = null;
        var buffer = length <= StackValueBytes ? stackalloc byte[StackValueBytes] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            var stored = buffer[..length];
            StoredValue.WriteHeader(stored, createRevision, revision, version);
            value.CopyTo(stored[StoredValue.HeaderBytes..]);
            if (_session.Upsert(key, stored).IsPending)
            {
                _session.CompletePending(wait: true);
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        _keys.Add(keyBytes);
        Revision = revision;
    }

    private void Delete(ReadOnlySpan<byte> key)
    {
        var keyBytes = key.ToArray();
        if (!_keys.Contains(keyBytes))
        {
            return;
        }

        if (_session.Delete(key).IsPending)
        {
            _session.CompletePending(wait: true);
        }

        _keys.Remove(keyBytes);
        Revision++;
    }

    private bool TryRead(ReadOnlySpan<byte> key, bool withValue, out StoredValue stored)
    {
        var input = default(SpanByte);
        var output = new KvReadOutput { WithValue = withValue };
        var status = _session.Read(key, ref input, ref output);
        if (status.IsPending)
        {
            // The record is on disk, below the log's in-memory part: wait for the read.
            _session.CompletePendingWithOutputs(out var completed, wait: true);
            using (completed)
            {
                if (!completed.Next())
                {
                    throw new IOException($"FASTER in {_directory} completed no pending read for key {Convert.ToHexString(key)}");
                }

                status = completed.Current.Status;
                output = completed.Current.Output;
            }
        }

        stored = output.Stored;
        if (!status.Found)
        {
            return false;
        }

        if (!stored.IsConsistent(Revision))
        {
            throw new StorageCorruptionException(_directory, 0,
                $"revisions of key {Convert.ToHexString(key)} consistent with store revision {Revision}, found create {stored.CreateRevision}, mod {stored.ModRevision}, version {stored.Version}");
        }

        return true;
    }

    // After FASTER recovered a checkpoint: take the applied index and revision from its cookie, rebuild the key set by
    // iterating the live records, and check both against each other.
    private void Restore(string checkpoints, byte[]? cookie)
    {
        if (!TryOpenCookie(cookie, out var applied, out var revision, out var keyCount))
        {
            throw new StorageCorruptionException(checkpoints, 0,
                $"a checkpoint sealed by Kuorum ({CookieBytes}-byte cookie, format {CookieFormat}, valid checksum); found {(cookie is null ? "no cookie" : $"a {cookie.Length}-byte cookie that fails its checks")}");
        }

        AppliedIndex = applied;
        Revision = revision;
        using var iterator = _session.Iterate();
        while (iterator.GetNext(out var recordInfo))
        {
            if (recordInfo.Tombstone)
            {
                continue;
            }

            var key = iterator.GetKey().ToByteArray();
            var stored = StoredValue.Read(iterator.GetValue().AsReadOnlySpan(), withValue: false);
            if (key.Length == 0 || !stored.IsConsistent(revision))
            {
                throw LogCorruption(iterator.CurrentAddress,
                    $"a record with a key and revisions consistent with store revision {revision}; found a {key.Length}-byte key, create {stored.CreateRevision}, mod {stored.ModRevision}, version {stored.Version}");
            }

            if (!_keys.Add(key))
            {
                throw LogCorruption(iterator.CurrentAddress, $"one live record per key; key {Convert.ToHexString(key)} appears twice");
            }
        }

        if (_keys.Count != keyCount)
        {
            throw new StorageCorruptionException(checkpoints, 0, $"{keyCount} live keys, as the checkpoint recorded; the recovered log holds {_keys.Count}");
        }
    }

    private static byte[] SealCookie(long applied, long revision, long keyCount)
    {
        var cookie = new byte[CookieBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(cookie, CookieMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(cookie.AsSpan(4), CookieFormat);
        BinaryPrimitives.WriteInt64LittleEndian(cookie.AsSpan(8), applied);
        BinaryPrimitives.WriteInt64LittleEndian(cookie.AsSpan(16), revision);
        BinaryPrimitives.WriteInt64LittleEndian(cookie.AsSpan(24), keyCount);
        BinaryPrimitives.WriteUInt32LittleEndian(cookie.AsSpan(32), Crc32.HashToUInt32(cookie.AsSpan(0, 32)));
        return cookie;
    }

    private static bool TryOpenCookie(byte[]? cookie, out long applied, out long revision, out long keyCount)
    {
        (applied, revision, keyCount) = (0, 0, 0);
        if (cookie is not { Length: CookieBytes }
            || BinaryPrimitives.ReadUInt32LittleEndian(cookie) != CookieMagic
            || BinaryPrimitives.ReadUInt32LittleEndian(cookie.AsSpan(4)) != CookieFormat
            || BinaryPrimitives.ReadUInt32LittleEndian(cookie.AsSpan(32)) != Crc32.HashToUInt32(cookie.AsSpan(0, 32)))
        {
            return false;
        }

        applied = BinaryPrimitives.ReadInt64LittleEndian(cookie.AsSpan(8));
        revision = BinaryPrimitives.ReadInt64LittleEndian(cookie.AsSpan(16));
        keyCount = BinaryPrimitives.ReadInt64LittleEndian(cookie.AsSpan(24));
        return applied >= 0 && revision >= 0 && keyCount >= 0;
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_failure is not null)
        {
            throw new InvalidOperationException(
                $"the state machine in {_directory} failed while applying entry {AppliedIndex + 1} and accepts no more work; reopen it to recover its last checkpoint", _failure);
        }
    }

    private InvalidOperationException KeySetMismatch(byte[] key) =>
        new($"the key set and FASTER in {_directory} disagree about key {Convert.ToHexString(key)}");

    private StorageCorruptionException LogCorruption(long address, string expected)
    {
        var segment = address >> _options.SegmentSizeBits;
        var offset = address & ((1L << _options.SegmentSizeBits) - 1);
        return new StorageCorruptionException(Path.Combine(_directory, $"{LogFileBaseName}.{segment}"), offset, expected);
    }
}
