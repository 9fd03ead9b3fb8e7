using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using FASTER.core;
using Kuorum.Raft;

namespace Kuorum.Storage.StateMachine;

/// <summary>
/// The agent's key-value state machine on <c>FasterKV&lt;SpanByte, SpanByte&gt;</c>. Committed Raft entries are
/// <see cref="Apply"/>d in index order with etcd v3's semantics: each command that changes something (a Put, a Delete,
/// a Txn with any effective write, a LeaseRevoke of a lease with keys) raises the store's <see cref="Revision"/> by
/// exactly one, all its changes sharing that revision, and every key carries etcd's create revision, mod revision,
/// version and lease. <see cref="Apply"/> answers each entry with an <see cref="ApplyResult"/>.
/// <para>
/// Leases are granted and revoked through the log only; keep-alives and expiry are the leader's bookkeeping, from
/// <see cref="Leases"/>, so applying never reads a clock. A key's lease is part of its FASTER record; the lease table
/// itself (id and TTL, 16 bytes a lease) is sealed in the checkpoint's cookie rather than stored under reserved keys,
/// so no user key is taken from etcd's key space and the table is exactly as durable as the records it goes with. On
/// open the table comes from the cookie and each lease's keys are collected by the key-set rebuild scan.
/// </para>
/// <para>
/// The latest <see cref="KvStateMachineOptions.HistoryRevisions"/> revisions keep their events in memory for watches
/// (<see cref="EventsSince"/>). The history is not durable: after <see cref="Open"/> it starts empty at the recovered
/// revision, so a watch from before a restart is answered compacted and must resynchronise from the current state.
/// </para>
/// <para>
/// Durability is by <see cref="Checkpoint"/> only: applied entries live in FASTER's memory (and log) until a checkpoint
/// makes them durable together with <see cref="AppliedIndex"/> and <see cref="Revision"/>. <see cref="Open"/> recovers
/// the latest checkpoint, and the agent replays its Raft log from <see cref="AppliedIndex"/> + 1; entries at or below
/// the applied index are ignored, so replaying too much is harmless. The agent may compact its Raft log only up to the
/// applied index of a completed checkpoint.
/// </para>
/// <para>
/// FASTER's log only grows: after a fold-over checkpoint every record is read-only and the next update of a key appends
/// a new one. So a checkpoint first compacts the log when it is worth it (see
/// <see cref="KvStateMachineOptions.LogCompactionMinBytes"/>): the live records below the previous checkpoint are copied
/// to the tail, the log's begin address moves past them, and once the checkpoint is durable FASTER deletes the segment
/// files below it. For a steady key set the files stay within about twice the live records plus a segment.
/// </para>
/// <para>
/// <see cref="WriteSnapshotAsync"/> streams the whole state at <see cref="AppliedIndex"/> in a checksummed format of
/// its own, and <see cref="RestoreSnapshot(ReadOnlySpan{byte}, string?)"/> replaces the whole state with one (see
/// <see cref="KvSnapshotFormat"/>).
/// </para>
/// <para>
/// FASTER is a hash index with no key order, so the state machine keeps every key in an in-memory sorted set for
/// <see cref="Range"/>, rebuilt on open by scanning the recovered log. That costs the keys a second time in managed
/// memory (about 80 bytes of overhead per key on top of its bytes) and an O(keys) scan on open; an ordered on-disk
/// index is later work.
/// </para>
/// Not thread-safe: the agent's single Raft loop owns it.
/// </summary>
public sealed partial class KvStateMachine : IDisposable
{
    // FASTER's log files are <base>.<segment>: "hlog.log" at first, "hlog-<n>.log" after the n-th restore of a snapshot.
    private const string LogFileBaseName = "hlog.log";
    private const string CheckpointDirectoryName = "checkpoints";

    // The checkpoint cookie: [magic][format][applied index][revision][key count][lease count, u32]
    // [(lease id, ttl ms) per lease][crc32 of the rest], little endian. Format 1 (phase one, no leases, 24-byte record
    // header) is not read: its records would not decode with the lease in the header.
    private const uint CookieMagic = 0x4D53564B; // "KVSM"
    private const uint CookieFormat = 2;
    private const int CookieHeaderBytes = 36;
    private const int CookieLeaseBytes = 16;

    private static readonly KvOpResult _putResult = new(KvOpKind.Put, null, 0);
    private static readonly KvOpResult _deletedNone = new(KvOpKind.Delete, null, 0);
    private static readonly KvOpResult _deletedOne = new(KvOpKind.Delete, null, 1);

    // Values up to this size are staged on the stack on their way into FASTER, larger ones in a pooled buffer.
    private const int StackValueBytes = 512;

    private readonly string _directory;
    private readonly KvStateMachineOptions _options;
    private FasterKVSettings<SpanByte, SpanByte> _settings;
    private IDevice _device;
    private int _generation;
    private FasterKV<SpanByte, SpanByte> _store;
    private ClientSession<SpanByte, SpanByte, SpanByte, KvReadOutput, Empty, KvFunctions> _session;
    private readonly SortedSet<byte[]> _keys = new(ByteOrder.Instance);
    private readonly Dictionary<long, LeaseState> _leases = [];

    // Events of revisions above _historyFloor, from _eventsHead on (the list is compacted now and then).
    private readonly List<KvEvent> _events = [];
    private int _eventsHead;
    private long _historyFloor;

    // About the bytes the live records take in FASTER's log (see StoredValue.RecordBytes), and the log address below
    // which everything is durable in the latest checkpoint: what log compaction may copy forward.
    private long _liveBytes;
    private long _durableUntil;
    private Exception? _failure;
    private bool _storeOpen = true;
    private bool _disposed;

    private KvStateMachine(string directory, KvStateMachineOptions options, int generation, FasterKVSettings<SpanByte, SpanByte> settings, IDevice device, FasterKV<SpanByte, SpanByte> store)
    {
        _directory = directory;
        _options = options;
        _generation = generation;
        _settings = settings;
        _device = device;
        _store = store;
        _session = store.For(new KvFunctions()).NewSession<KvFunctions>();
    }

    /// <summary>Index of the last Raft entry applied (0 before any).</summary>
    public long AppliedIndex { get; private set; }

    /// <summary>The store's revision: the number of applied Puts and Deletes that changed something.</summary>
    public long Revision { get; private set; }

    /// <summary>Number of live keys.</summary>
    public int KeyCount => _keys.Count;

    /// <summary>Number of leases.</summary>
    public int LeaseCount => _leases.Count;

    /// <summary>How many times a checkpoint compacted FASTER's log since this instance opened (for tests and metrics).</summary>
    internal int LogCompactions { get; private set; }

    /// <summary>Bytes of FASTER's log between its begin and tail addresses.</summary>
    internal long LogBytes => _store.Log.TailAddress - _store.Log.BeginAddress;

    /// <summary>About the bytes the live records take in FASTER's log.</summary>
    internal long LiveBytes => _liveBytes;

    /// <summary>
    /// Opens (creating if needed) the state machine in <paramref name="directory"/> and recovers its latest checkpoint.
    /// When the directory holds checkpoint files that do not recover, or whose contents fail Kuorum's checks, throws
    /// <see cref="StorageCorruptionException"/> naming the file or directory and what was expected; it never opens empty
    /// over an unreadable checkpoint. The one exception is a <see cref="RestoreSnapshot(ReadOnlySpan{byte}, string?)"/>
    /// that was interrupted (a crash): the old state was already dropped and the new one is incomplete, so the state
    /// machine opens empty, at applied index 0, for its owner to restore the snapshot again or replay its log.
    /// </summary>
    public static KvStateMachine Open(string directory, KvStateMachineOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        options ??= new KvStateMachineOptions();
        options.Validate();
        Directory.CreateDirectory(directory);
        var generation = LogGeneration(directory);
        var marker = Path.Combine(directory, RestoreMarkerName);
        if (File.Exists(marker))
        {
            ClearDirectory(directory);
            File.Delete(marker);
            Posix.SyncDirectory(directory);
            generation++;
        }

        var checkpoints = Path.Combine(directory, CheckpointDirectoryName);
        var hasCheckpoint = Directory.Exists(checkpoints)
            && Directory.EnumerateFiles(checkpoints, "*", SearchOption.AllDirectories).Any();

        var (settings, device, store) = CreateStore(directory, options, generation);

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
                device.Dispose();
                throw new StorageCorruptionException(checkpoints, 0, "a FASTER checkpoint that recovers (the directory holds checkpoint files)", e);
            }
        }

        var machine = new KvStateMachine(directory, options, generation, settings, device, store);
        try
        {
            if (hasCheckpoint)
            {
                machine.Restore(checkpoints, cookie);
            }

            machine._durableUntil = store.Log.TailAddress;
            return machine;
        }
        catch
        {
            machine.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Applies a committed entry and says what it did. Returns a result with <see cref="ApplyResult.Applied"/> false,
    /// changing nothing, for an entry at or below <see cref="AppliedIndex"/> (a replay after recovery); throws
    /// <see cref="InvalidOperationException"/> for an entry that skips ahead. Normal entries with data carry a
    /// <see cref="KvCommand"/> (a malformed one throws <see cref="InvalidDataException"/> naming the entry); leader
    /// no-ops, ConfChange and Bootstrap entries only advance the applied index.
    /// </summary>
    public ApplyResult Apply(Entry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ThrowIfUnusable();
        if (entry.Index <= AppliedIndex)
        {
            return new ApplyResult(entry.Index, applied: false, Revision, succeeded: false);
        }

        if (entry.Index != AppliedIndex + 1)
        {
            throw new InvalidOperationException(
                $"entry {entry.Index} skips ahead: the state machine applied up to {AppliedIndex} and needs entry {AppliedIndex + 1} next");
        }

        ApplyResult result;
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

                result = Execute(entry.Index, command);
                break;
            case EntryType.Normal or EntryType.ConfChange or EntryType.Bootstrap:
                result = new ApplyResult(entry.Index, applied: true, Revision);
                break;
            default:
                throw new InvalidDataException($"entry {entry.Index}/{entry.Term}: unknown entry type {(byte)entry.Type}");
        }

        AppliedIndex = entry.Index;
        return result;
    }

    /// <summary>The key's value and revisions, or null when it does not exist.</summary>
    public KvRecord? Get(ReadOnlySpan<byte> key)
    {
        ThrowIfUnusable();
        _options.Limits.CheckKey(key);
        return Current(key);
    }

    /// <summary>Every lease, by id, with its TTL and its keys in byte order: what a new leader tracks expiry for.</summary>
    public IReadOnlyList<KvLease> Leases()
    {
        ThrowIfUnusable();
        return [.. _leases.OrderBy(pair => pair.Key).Select(pair => pair.Value.ToLease(pair.Key))];
    }

    /// <summary>Lease <paramref name="id"/> with its TTL and keys, or null when there is no such lease.</summary>
    public KvLease? GetLease(long id)
    {
        ThrowIfUnusable();
        return _leases.TryGetValue(id, out var lease) ? lease.ToLease(id) : null;
    }

    /// <summary>
    /// Up to <paramref name="limit"/> events of the revisions after <paramref name="revision"/>, in order, never splitting
    /// a revision (its events all come, even past the limit, or none do); or, when <paramref name="revision"/> is older
    /// than the history held, an answer with <see cref="KvEventBatch.Compacted"/> and the oldest revision held.
    /// </summary>
    public KvEventBatch EventsSince(long revision, int limit)
    {
        ThrowIfUnusable();
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        if (revision < _historyFloor)
        {
            return new KvEventBatch(Compacted: true, _historyFloor + 1, Revision, []);
        }

        var (low, high) = (_eventsHead, _events.Count);
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            if (_events[middle].Revision <= revision)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        var events = new List<KvEvent>(Math.Min(limit, _events.Count - low));
        for (var i = low; i < _events.Count; i++)
        {
            if (events.Count >= limit && _events[i].Revision != events[^1].Revision)
            {
                break;
            }

            events.Add(_events[i]);
        }

        return new KvEventBatch(Compacted: false, _historyFloor + 1, Revision, events);
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

            records.Add(new KvRecord(key, stored.Value!, stored.CreateRevision, stored.ModRevision, stored.Version, stored.Lease));
            if (records.Count == limit)
            {
                break;
            }
        }

        return records;
    }

    /// <summary>
    /// Makes everything applied so far durable, with <see cref="AppliedIndex"/> and <see cref="Revision"/> in the
    /// checkpoint's cookie, and completes when the checkpoint is on disk. Compacts FASTER's log first when it holds at
    /// least <see cref="KvStateMachineOptions.LogCompactionMinBytes"/> and twice its live records.
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
        // instead of updating in place, and the log grows until it is compacted, which the checkpoint does first when
        // worth it. FASTER removes the previous checkpoint once this one completes, and the log's segments below the
        // begin address this one recorded.
        CompactLogIfWorthIt();
        _store.CommitCookie = SealCookie();
        var tail = _store.Log.TailAddress;
        var (success, _) = await _store.TakeHybridLogCheckpointAsync(CheckpointType.FoldOver, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!success)
        {
            throw new IOException($"FASTER in {_directory} refused to start a checkpoint (one is already in progress)");
        }

        _durableUntil = tail;
    }

    // Compaction copies the live records below the previous checkpoint's tail (all durable, all read-only) to the tail
    // and moves the begin address past them; the copies become durable with the checkpoint that follows, and only once
    // that checkpoint's metadata is written does FASTER delete the segments below its begin address. A crash in between
    // recovers the previous checkpoint, whose segments are still there. Records are copied only when no newer record
    // of their key exists (CompactionType.Lookup follows the key's hash chain), and deleted keys' records are dropped.
    private void CompactLogIfWorthIt()
    {
        var log = _store.Log;
        var until = Math.Min(_durableUntil, log.SafeReadOnlyAddress);
        var size = log.TailAddress - log.BeginAddress;
        if (until <= log.BeginAddress || size < _options.LogCompactionMinBytes || size < 2 * _liveBytes)
        {
            return;
        }

        _session.Compact(until, CompactionType.Lookup);
        LogCompactions++;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        DisposeStore();
    }

    private ApplyResult Execute(long index, KvCommand command)
    {
        try
        {
            return command.Kind switch
            {
                KvCommandKind.LeaseGrant => GrantLease(index, command),
                KvCommandKind.LeaseRevoke => RevokeLease(index, command),
                _ => Run(index, command),
            };
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // FASTER, the key set or the leases may hold half of the command: refuse further work; a reopen recovers
            // the last checkpoint and the Raft log replays from there.
            _failure = e;
            throw;
        }
    }

    // A Put, a Delete or a Txn: the compares read the state before the command, then the chosen operations run in
    // order, each seeing the ones before it, and all writes share the revision after the current one.
    private ApplyResult Run(long index, KvCommand command)
    {
        var succeeded = true;
        foreach (var compare in command.Compares)
        {
            if (!compare.Holds(Current(compare.Key.Span)))
            {
                succeeded = false;
                break;
            }
        }

        var operations = command.Operations(succeeded);
        foreach (var operation in operations)
        {
            if (operation.Kind == KvOpKind.Put && operation.Lease != 0 && !_leases.ContainsKey(operation.Lease))
            {
                return new ApplyResult(index, applied: true, Revision, command, succeeded, KvApplyError.LeaseNotFound);
            }
        }

        // Tentatively at the new revision, so that a Get after a Put of the same key reads a consistent record.
        var revision = ++Revision;
        var changed = false;
        var results = new KvOpResult[operations.Count];
        for (var i = 0; i < results.Length; i++)
        {
            var operation = operations[i];
            switch (operation.Kind)
            {
                case KvOpKind.Put:
                    Put(operation.Key.Span, operation.Value.Span, operation.Lease, revision);
                    results[i] = _putResult;
                    changed = true;
                    break;
                case KvOpKind.Delete:
                    var deleted = Delete(operation.Key.Span, revision);
                    results[i] = deleted ? _deletedOne : _deletedNone;
                    changed |= deleted;
                    break;
                default:
                    results[i] = new KvOpResult(KvOpKind.Get, Current(operation.Key.Span), 0);
                    break;
            }
        }

        EndWrite(changed);
        return new ApplyResult(index, applied: true, Revision, command, succeeded, results: results);
    }

    private ApplyResult GrantLease(long index, KvCommand command)
    {
        if (!_leases.TryAdd(command.Lease, new LeaseState(command.TtlMilliseconds)))
        {
            return new ApplyResult(index, applied: true, Revision, command, error: KvApplyError.LeaseExists);
        }

        return new ApplyResult(index, applied: true, Revision, command);
    }

    private ApplyResult RevokeLease(long index, KvCommand command)
    {
        if (!_leases.TryGetValue(command.Lease, out var lease))
        {
            return new ApplyResult(index, applied: true, Revision, command, error: KvApplyError.LeaseNotFound);
        }

        // The keys in byte order, so that every replica records the same events in the same order.
        var keys = lease.Keys.ToArray();
        var revision = ++Revision;
        foreach (var key in keys)
        {
            if (!Delete(key, revision))
            {
                throw KeySetMismatch(key);
            }
        }

        _leases.Remove(command.Lease);
        EndWrite(keys.Length > 0);
        return new ApplyResult(index, applied: true, Revision, command, results: [new KvOpResult(KvOpKind.Delete, null, keys.Length)]);
    }

    // After the writes of one command at Revision: keep the revision if something changed, else step back; then drop
    // the events that fell out of the history.
    private void EndWrite(bool changed)
    {
        if (!changed)
        {
            Revision--;
            return;
        }

        _historyFloor = Math.Max(_historyFloor, Revision - _options.HistoryRevisions);
        while (_eventsHead < _events.Count && _events[_eventsHead].Revision <= _historyFloor)
        {
            _eventsHead++;
        }

        if (_eventsHead >= 1024 && _eventsHead * 2 >= _events.Count)
        {
            _events.RemoveRange(0, _eventsHead);
            _eventsHead = 0;
        }
    }

    private void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long lease, long revision)
    {
        var keyBytes = key.ToArray();
        var (createRevision, version, oldLease) = (revision, 1L, 0L);
        if (_keys.Contains(keyBytes))
        {
            if (!TryRead(key, withValue: false, out var existing))
            {
                throw KeySetMismatch(keyBytes);
            }

            (createRevision, version, oldLease) = (existing.CreateRevision, existing.Version + 1, existing.Lease);
            _liveBytes -= StoredValue.RecordBytes(key.Length, existing.Length);
        }

        var length = StoredValue.HeaderBytes + value.Length;
        _liveBytes += StoredValue.RecordBytes(key.Length, length);
        byte[]? rented = null;
        var buffer = length <= StackValueBytes ? stackalloc byte[StackValueBytes] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            var stored = buffer[..length];
            StoredValue.WriteHeader(stored, createRevision, revision, version, lease);
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
        if (oldLease != lease)
        {
            if (oldLease != 0)
            {
                LeaseOf(oldLease, keyBytes).Keys.Remove(keyBytes);
            }

            if (lease != 0)
            {
                _leases[lease].Keys.Add(keyBytes);
            }
        }

        if (_options.HistoryRevisions > 0)
        {
            _events.Add(new KvEvent(KvEventType.Put, new KvRecord(keyBytes, value.ToArray(), createRevision, revision, version, lease)));
        }
    }

    private bool Delete(ReadOnlySpan<byte> key, long revision)
    {
        var keyBytes = key.ToArray();
        if (!_keys.Contains(keyBytes))
        {
            return false;
        }

        if (!TryRead(key, withValue: false, out var existing))
        {
            throw KeySetMismatch(keyBytes);
        }

        if (existing.Lease != 0)
        {
            LeaseOf(existing.Lease, keyBytes).Keys.Remove(keyBytes);
        }

        _liveBytes -= StoredValue.RecordBytes(key.Length, existing.Length);

        if (_session.Delete(key).IsPending)
        {
            _session.CompletePending(wait: true);
        }

        _keys.Remove(keyBytes);
        if (_options.HistoryRevisions > 0)
        {
            _events.Add(new KvEvent(KvEventType.Delete, new KvRecord(keyBytes, ReadOnlyMemory<byte>.Empty, 0, revision, 0)));
        }

        return true;
    }

    private KvRecord? Current(ReadOnlySpan<byte> key) =>
        TryRead(key, withValue: true, out var stored)
            ? new KvRecord(key.ToArray(), stored.Value!, stored.CreateRevision, stored.ModRevision, stored.Version, stored.Lease)
            : null;

    private LeaseState LeaseOf(long lease, byte[] key) =>
        _leases.TryGetValue(lease, out var state)
            ? state
            : throw new InvalidOperationException($"key {Convert.ToHexString(key)} in {_directory} is attached to lease {lease}, which does not exist");

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

    // After FASTER recovered a checkpoint: take the applied index, revision and lease table from its cookie, rebuild
    // the key set and each lease's keys by iterating the live records, and check them against each other.
    private void Restore(string checkpoints, byte[]? cookie)
    {
        if (!TryOpenCookie(cookie, out var applied, out var revision, out var keyCount))
        {
            throw new StorageCorruptionException(checkpoints, 0,
                $"a checkpoint sealed by Kuorum (cookie format {CookieFormat} with a lease table of positive ids and TTLs, valid checksum); found {(cookie is null ? "no cookie" : $"a {cookie.Length}-byte cookie that fails its checks")}");
        }

        AppliedIndex = applied;
        Revision = revision;
        _historyFloor = revision;

        // One sequential scan of the log rather than FASTER's Iterate(), which builds a temporary store with 32 MiB
        // pages each time (some 100 ms even for a handful of keys; at 1M keys both take about as long). Records of a
        // key only ever move to higher addresses (updates in place keep theirs), so a key's latest record is the last
        // one the scan meets, and a tombstone there means the key is deleted.
        var log = _store.Log;
        var latest = new Dictionary<byte[], (long Address, StoredValue Stored)>((int)Math.Min(keyCount, 1 << 24), ByteEquality.Instance);
        var byBytes = latest.GetAlternateLookup<ReadOnlySpan<byte>>();
        using (var scan = log.Scan(log.BeginAddress, log.TailAddress))
        {
            while (scan.GetNext(out var recordInfo))
            {
                var key = scan.GetKey().AsReadOnlySpan();
                if (recordInfo.Tombstone)
                {
                    byBytes.Remove(key);
                }
                else
                {
                    byBytes[key] = (scan.CurrentAddress, StoredValue.Read(scan.GetValue().AsReadOnlySpan(), withValue: false));
                }
            }
        }

        foreach (var (key, (address, stored)) in latest)
        {
            _liveBytes += StoredValue.RecordBytes(key.Length, stored.Length);
            if (key.Length == 0 || !stored.IsConsistent(revision))
            {
                throw LogCorruption(address,
                    $"a record with a key and revisions consistent with store revision {revision}; found a {key.Length}-byte key, create {stored.CreateRevision}, mod {stored.ModRevision}, version {stored.Version}, lease {stored.Lease}");
            }

            _keys.Add(key);
            if (stored.Lease != 0)
            {
                if (!_leases.TryGetValue(stored.Lease, out var lease))
                {
                    throw LogCorruption(address,
                        $"a record whose lease is in the checkpoint's lease table; key {Convert.ToHexString(key)} has lease {stored.Lease}, which is not");
                }

                lease.Keys.Add(key);
            }
        }

        if (_keys.Count != keyCount)
        {
            throw new StorageCorruptionException(checkpoints, 0, $"{keyCount} live keys, as the checkpoint recorded; the recovered log holds {_keys.Count}");
        }
    }

    private byte[] SealCookie()
    {
        var cookie = new byte[CookieHeaderBytes + (CookieLeaseBytes * _leases.Count) + 4];
        BinaryPrimitives.WriteUInt32LittleEndian(cookie, CookieMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(cookie.AsSpan(4), CookieFormat);
        BinaryPrimitives.WriteInt64LittleEndian(cookie.AsSpan(8), AppliedIndex);
        BinaryPrimitives.WriteInt64LittleEndian(cookie.AsSpan(16), Revision);
        BinaryPrimitives.WriteInt64LittleEndian(cookie.AsSpan(24), _keys.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(cookie.AsSpan(32), (uint)_leases.Count);
        var at = CookieHeaderBytes;
        foreach (var (id, lease) in _leases.OrderBy(pair => pair.Key))
        {
            BinaryPrimitives.WriteInt64LittleEndian(cookie.AsSpan(at), id);
            BinaryPrimitives.WriteInt64LittleEndian(cookie.AsSpan(at + 8), lease.TtlMilliseconds);
            at += CookieLeaseBytes;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(cookie.AsSpan(at), Crc32.HashToUInt32(cookie.AsSpan(0, at)));
        return cookie;
    }

    // Reads the cookie's fields, and its lease table into _leases (with no keys yet).
    private bool TryOpenCookie(byte[]? cookie, out long applied, out long revision, out long keyCount)
    {
        (applied, revision, keyCount) = (0, 0, 0);
        if (cookie is null || cookie.Length < CookieHeaderBytes + 4
            || BinaryPrimitives.ReadUInt32LittleEndian(cookie) != CookieMagic
            || BinaryPrimitives.ReadUInt32LittleEndian(cookie.AsSpan(4)) != CookieFormat
            || BinaryPrimitives.ReadUInt32LittleEndian(cookie.AsSpan(32)) != (uint)(cookie.Length - CookieHeaderBytes - 4) / CookieLeaseBytes
            || (cookie.Length - CookieHeaderBytes - 4) % CookieLeaseBytes != 0
            || BinaryPrimitives.ReadUInt32LittleEndian(cookie.AsSpan(cookie.Length - 4)) != Crc32.HashToUInt32(cookie.AsSpan(0, cookie.Length - 4)))
        {
            return false;
        }

        applied = BinaryPrimitives.ReadInt64LittleEndian(cookie.AsSpan(8));
        revision = BinaryPrimitives.ReadInt64LittleEndian(cookie.AsSpan(16));
        keyCount = BinaryPrimitives.ReadInt64LittleEndian(cookie.AsSpan(24));
        for (var at = CookieHeaderBytes; at < cookie.Length - 4; at += CookieLeaseBytes)
        {
            var id = BinaryPrimitives.ReadInt64LittleEndian(cookie.AsSpan(at));
            var ttl = BinaryPrimitives.ReadInt64LittleEndian(cookie.AsSpan(at + 8));
            if (id < 1 || ttl < 1 || !_leases.TryAdd(id, new LeaseState(ttl)))
            {
                return false;
            }
        }

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
        return new StorageCorruptionException(Path.Combine(_directory, $"{LogBaseName(_generation)}.{segment}"), offset, expected);
    }

    // A lease: its TTL, for the leader, and its keys in byte order (the same arrays as in the key set).
    private sealed class LeaseState(long ttlMilliseconds)
    {
        public long TtlMilliseconds { get; } = ttlMilliseconds;

        public SortedSet<byte[]> Keys { get; } = new(ByteOrder.Instance);

        public KvLease ToLease(long id) => new(id, TtlMilliseconds, [.. Keys.Select(key => (ReadOnlyMemory<byte>)key.ToArray())]);
    }
}
