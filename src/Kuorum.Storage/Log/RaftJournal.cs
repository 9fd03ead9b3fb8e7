using FASTER.core;
using Kuorum.Raft;

namespace Kuorum.Storage.Log;

/// <summary>
/// The durable Raft log and hard state, in one append-only FasterLog. Each <see cref="AppendAsync"/> enqueues its
/// records and completes only when one FasterLog commit made them durable, so a Ready's entries and hard state
/// become durable together (a commit is all or nothing on recovery). FasterLog cannot delete from its tail, so a
/// follower's conflicting suffix is voided by a durable <c>Truncate</c> record; an index → address map rebuilt on
/// open says where each live entry is. Compaction writes a marker and truncates the FasterLog's prefix.
/// Not thread-safe: the agent's single Raft loop owns it.
/// </summary>
public sealed class RaftJournal : IDisposable
{
    private const string LogFileBaseName = "fasterlog.log";

    // FasterLog's first record address in a fresh log.
    private const long FirstRecordAddress = 64;

    private readonly string _directory;
    private readonly RaftJournalOptions _options;
    private readonly FasterLogSettings _settings;
    private readonly SlotCommitManager _commits;
    private readonly FasterLog _log;
    private Exception? _failure;

    // Live entries after the snapshot: _index[i] is entry Snapshot.Index + 1 + i.
    private readonly List<(long Address, long Term)> _index = [];

    private RaftJournal(string directory, RaftJournalOptions options, FasterLogSettings settings, SlotCommitManager commits, FasterLog log)
    {
        _directory = directory;
        _options = options;
        _settings = settings;
        _commits = commits;
        _log = log;
    }

    /// <summary>The latest durable hard state.</summary>
    public HardState HardState { get; private set; } = HardState.Initial;

    /// <summary>The latest compaction or installed snapshot (index 0 when none).</summary>
    public SnapshotMetadata Snapshot { get; private set; } = RaftStorageState.Empty.Snapshot;

    /// <summary>First index still in the journal.</summary>
    public long FirstIndex => Snapshot.Index + 1;

    /// <summary>Last index in the journal (the snapshot's when empty).</summary>
    public long LastIndex => Snapshot.Index + _index.Count;

    /// <summary>
    /// Opens (creating if needed) the journal in <paramref name="directory"/> and recovers it to its last commit.
    /// Throws <see cref="StorageCorruptionException"/> naming the file and offset of the first record that fails its
    /// checks; nothing is silently dropped.
    /// </summary>
    public static RaftJournal Open(string directory, RaftJournalOptions? options = null)
    {
        options ??= new RaftJournalOptions();
        options.Validate();
        Directory.CreateDirectory(directory);
        var commits = SlotCommitManager.Open(directory);
        var settings = new FasterLogSettings(directory, deleteDirOnDispose: false)
        {
            PageSizeBits = options.PageSizeBits,
            MemorySizeBits = options.MemorySizeBits,
            SegmentSizeBits = options.SegmentSizeBits,
            LogCommitManager = commits,
        };
        FasterLog log;
        try
        {
            log = new FasterLog(settings);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            settings.Dispose();
            commits.Dispose();
            throw new StorageCorruptionException(Path.Combine(directory, SlotCommitManager.FileName), 0, "commit metadata FasterLog can recover from", e);
        }

        var journal = new RaftJournal(directory, options, settings, commits, log);
        try
        {
            journal.CheckCommitRecovered();
            journal.Recover();
            return journal;
        }
        catch
        {
            journal.Dispose();
            throw;
        }
    }

    /// <summary>What a restarting node needs from the journal; the snapshot's bytes come from the snapshot store.</summary>
    public async ValueTask<RaftStorageState> LoadStateAsync(ISnapshotReader? snapshotData, long applied, CancellationToken cancellationToken = default)
    {
        var entries = await ReadAsync(FirstIndex, LastIndex, cancellationToken).ConfigureAwait(false);
        return new RaftStorageState(HardState, Snapshot, snapshotData, entries, Math.Max(applied, Snapshot.Index));
    }

    /// <summary>Term of the entry at <paramref name="index"/>, or null when it is compacted or beyond the end.</summary>
    public long? TermAt(long index) =>
        index == Snapshot.Index ? Snapshot.Term
        : index > Snapshot.Index && index <= LastIndex ? _index[(int)(index - FirstIndex)].Term
        : null;

    /// <summary>Reads the entries in [<paramref name="from"/>, <paramref name="to"/>] from the log.</summary>
    public async ValueTask<IReadOnlyList<Entry>> ReadAsync(long from, long to, CancellationToken cancellationToken = default)
    {
        if (from < FirstIndex || to > LastIndex)
        {
            throw new ArgumentOutOfRangeException(nameof(from), $"range {from}..{to} must lie within {FirstIndex}..{LastIndex}");
        }

        var entries = new List<Entry>((int)Math.Max(0, to - from + 1));
        for (var index = from; index <= to; index++)
        {
            var address = _index[(int)(index - FirstIndex)].Address;
            var (bytes, length) = await _log.ReadAsync(address, token: cancellationToken).ConfigureAwait(false);
            var record = Decode(bytes.AsSpan(0, length), address);
            if (record.Entry is not { } entry || entry.Index != index)
            {
                throw Corruption(address, $"entry {index}");
            }

            entries.Add(entry);
        }

        return entries;
    }

    /// <summary>
    /// Persists what a Ready asks for, in its order (installed snapshot, entries replacing any from the first one's
    /// index, hard state), and completes when all of it is durable.
    /// </summary>
    public async ValueTask AppendAsync(IReadOnlyList<Entry> entries, HardState? hardState, SnapshotMetadata? installedSnapshot = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (installedSnapshot is not null)
        {
            Enqueue(new JournalRecord(JournalRecordKind.SnapshotInstalled, Snapshot: installedSnapshot));
            _index.Clear();
            Snapshot = installedSnapshot;
        }

        if (entries.Count > 0)
        {
            var first = entries[0].Index;
            if (first <= Snapshot.Index || first > LastIndex + 1)
            {
                throw new ArgumentException($"entries must start in {Snapshot.Index + 1}..{LastIndex + 1} (after the snapshot, without a gap); got {first}", nameof(entries));
            }

            if (first <= LastIndex)
            {
                Enqueue(new JournalRecord(JournalRecordKind.Truncate, Index: first));
                _index.RemoveRange((int)(first - FirstIndex), (int)(LastIndex - first + 1));
            }

            foreach (var entry in entries)
            {
                if (entry.Index != LastIndex + 1)
                {
                    throw new ArgumentException($"entries must be consecutive; {entry.Index} follows {LastIndex}", nameof(entries));
                }

                _index.Add((Enqueue(new JournalRecord(JournalRecordKind.Entry, Entry: entry)), entry.Term));
            }
        }

        if (hardState is { } state)
        {
            Enqueue(new JournalRecord(JournalRecordKind.HardState, HardState: state));
            HardState = state;
        }

        await CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes a hard state whose only change is the commit index, without waiting for the disk: it becomes durable
    /// with the next commit of the journal, and a crash before that only loses a commit index the leader repeats.
    /// </summary>
    public void RecordCommit(HardState hardState)
    {
        Enqueue(new JournalRecord(JournalRecordKind.HardState, HardState: hardState));
        HardState = hardState;
    }

    /// <summary>
    /// Records that the state machine snapshotted at <paramref name="snapshot"/>'s index (the snapshot itself must
    /// already be durable) and frees the log before it.
    /// </summary>
    public async ValueTask CompactAsync(SnapshotMetadata snapshot, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (snapshot.Index <= Snapshot.Index || snapshot.Index > LastIndex || TermAt(snapshot.Index) != snapshot.Term)
        {
            throw new ArgumentException($"compaction point {snapshot.Index}/{snapshot.Term} must be a journal entry in {FirstIndex}..{LastIndex}", nameof(snapshot));
        }

        var removed = (int)(snapshot.Index - Snapshot.Index);
        var marker = Enqueue(new JournalRecord(JournalRecordKind.Compacted, Snapshot: snapshot));

        // The hard state is written again after the marker, so the truncated prefix holds nothing still needed.
        Enqueue(new JournalRecord(JournalRecordKind.HardState, HardState: HardState));
        _index.RemoveRange(0, removed);
        Snapshot = snapshot;
        _log.TruncateUntil(_index.Count > 0 ? Math.Min(_index[0].Address, marker) : marker);
        await CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    // Commits everything enqueued. After a failed commit the in-memory view is ahead of the disk: no more writes.
    private async ValueTask CommitAsync(CancellationToken cancellationToken)
    {
        if (_failure is not null)
        {
            throw new IOException($"the journal in {_directory} failed earlier and accepts no more writes; reopen it to read what is durable", _failure);
        }

        try
        {
            await _log.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (CommitFailureException e)
        {
            _failure = e;
            throw new IOException(
                $"the journal in {_directory} could not make its writes durable ({FreeSpace()} free on its file system; a full disk is the usual cause): {e.Message}", e);
        }
    }

    private string FreeSpace()
    {
        try
        {
            return $"{new DriveInfo(Path.GetFullPath(_directory)).AvailableFreeSpace} bytes";
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            return "unknown space";
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        // A clean close makes a recorded commit index (RecordCommit) durable too; a crash only loses it.
        if (_failure is null && _log.TailAddress > _log.CommittedUntilAddress)
        {
            try
            {
                _log.Commit(spinWait: true);
            }
            catch (Exception e) when (e is IOException or CommitFailureException)
            {
                // Closing anyway: what was not durable is re-learned from the leader.
            }
        }

        _log.Dispose();
        _settings.Dispose();
        _commits.Dispose();
    }

    // FasterLog skips commit metadata it cannot parse and opens empty: it must have recovered to the newest commit.
    private void CheckCommitRecovered()
    {
        var expected = _commits.Newest ?? (FirstRecordAddress, FirstRecordAddress);
        if (_log.BeginAddress != expected.Begin || _log.TailAddress != expected.Until)
        {
            throw new StorageCorruptionException(Path.Combine(_directory, SlotCommitManager.FileName), 0,
                $"FasterLog to recover the newest commit (begin {expected.Begin}, until {expected.Until}); it recovered begin {_log.BeginAddress}, until {_log.TailAddress}");
        }
    }

    private long Enqueue(JournalRecord record) => _log.Enqueue(record.Encode());

    private void Recover()
    {
        var entries = new List<(long Address, long Index, long Term)>();
        using var iterator = _log.Scan(_log.BeginAddress, _log.TailAddress);
        var end = _log.BeginAddress;
        while (true)
        {
            byte[] bytes;
            int length;
            long address;
            try
            {
                if (!iterator.GetNext(out bytes, out length, out address, out var next))
                {
                    break;
                }

                end = next;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw Corruption(iterator.NextAddress, "a readable FasterLog record", e);
            }

            var record = Decode(bytes.AsSpan(0, length), address);
            switch (record.Kind)
            {
                case JournalRecordKind.Entry:
                    // After a compaction the journal starts with the first entry past a snapshot whose marker comes
                    // later, so the first entry is checked against the snapshot once the scan is done.
                    var entry = record.Entry!;
                    if (entries.Count > 0 ? entry.Index != entries[^1].Index + 1 : entry.Index <= Snapshot.Index)
                    {
                        throw Corruption(address, $"entry {(entries.Count > 0 ? entries[^1].Index + 1 : Snapshot.Index + 1)} (found entry {entry.Index})");
                    }

                    entries.Add((address, entry.Index, entry.Term));
                    break;
                case JournalRecordKind.HardState:
                    HardState = record.HardState;
                    break;
                case JournalRecordKind.Truncate:
                    entries.RemoveAll(e => e.Index >= record.Index);
                    break;
                case JournalRecordKind.Compacted:
                    entries.RemoveAll(e => e.Index <= record.Snapshot!.Index);
                    Snapshot = record.Snapshot!;
                    break;
                case JournalRecordKind.SnapshotInstalled:
                    entries.Clear();
                    Snapshot = record.Snapshot!;
                    break;
            }
        }

        // FasterLog's scan stops quietly at zeroes (a truncated or zeroed file); the commit says how far data must go.
        if (end < _log.TailAddress)
        {
            throw Corruption(end, $"more records: the log was committed up to address {_log.TailAddress}, records end at {end}");
        }

        if (entries.Count > 0 && entries[0].Index != Snapshot.Index + 1)
        {
            throw Corruption(entries[0].Address, $"entry {Snapshot.Index + 1}, the first after snapshot {Snapshot.Index} (found entry {entries[0].Index})");
        }

        _index.AddRange(entries.Select(e => (e.Address, e.Term)));
    }

    private JournalRecord Decode(ReadOnlySpan<byte> bytes, long address) =>
        JournalRecord.Decode(bytes, out var error) ?? throw Corruption(address, error!);

    private StorageCorruptionException Corruption(long address, string expected, Exception? inner = null)
    {
        var segment = address >> _options.SegmentSizeBits;
        var offset = address & ((1L << _options.SegmentSizeBits) - 1);
        return new StorageCorruptionException(Path.Combine(_directory, $"{LogFileBaseName}.{segment}"), offset, expected, inner);
    }
}
