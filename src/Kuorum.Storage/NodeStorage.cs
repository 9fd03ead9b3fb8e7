using Kuorum.Raft;
using Kuorum.Storage.Log;
using Kuorum.Storage.Snapshots;
using Kuorum.Storage.StateMachine;

namespace Kuorum.Storage;

/// <summary>
/// One node's durable state: the Raft journal (log and hard state) in <c>&lt;dir&gt;/journal</c>, the key-value state
/// machine in <c>&lt;dir&gt;/kv</c>, snapshot files in <c>&lt;dir&gt;/snapshots</c>. The agent's Raft loop uses it as:
/// <see cref="OpenAsync"/>, then <c>new RaftNode(config, storage.InitialState)</c> (or <c>RaftNode.Bootstrap</c> when
/// <see cref="IsFresh"/>); for each Ready <see cref="PersistAsync"/>, send the messages, <see cref="Apply"/> each
/// committed entry, <c>Advance</c>; and when <see cref="SnapshotDue"/>, <see cref="SnapshotAsync"/>.
/// <para>
/// Durability. The state machine is checkpointed only when a snapshot is taken or installed; in between, its changes
/// are recovered by replaying the journal, which is compacted only up to a snapshot whose file and checkpoint are
/// durable. On open the parts are reconciled: the snapshot file the journal's compaction marker names must exist and
/// check (else <see cref="StorageCorruptionException"/>); snapshot files newer than it are leftovers of an interrupted
/// snapshot or install and are deleted; and a state machine that is behind that snapshot, or ahead of the durable
/// commit index (an install interrupted before the journal recorded it), is restored from the snapshot file (or emptied
/// when there is none), so the core re-delivers exactly the committed entries after it.
/// </para>
/// <para>
/// An exception from <see cref="PersistAsync"/> or <see cref="SnapshotAsync"/> (a full disk, a corrupt snapshot from
/// the leader) may leave memory ahead of the disk: stop the node, dispose the storage and open it again, as a restart
/// does; the open reconciles whatever was half done.
/// </para>
/// Not thread-safe: the agent's single Raft loop owns it.
/// </summary>
public sealed class NodeStorage : IDisposable
{
    private readonly RaftJournal _journal;
    private readonly SnapshotStore _snapshots;
    private readonly KvStateMachine _machine;
    private readonly NodeStorageOptions _options;

    // What the snapshot policy counts since the last snapshot (taken, installed, or the one found on open).
    private long _entriesSince;
    private long _bytesSince;
    private DateTimeOffset _lastSnapshotAt;
    private bool _disposed;

    private NodeStorage(RaftJournal journal, SnapshotStore snapshots, KvStateMachine machine, NodeStorageOptions options)
    {
        _journal = journal;
        _snapshots = snapshots;
        _machine = machine;
        _options = options;
        _lastSnapshotAt = options.Time.GetUtcNow();
    }

    /// <summary>True when nothing was ever persisted (no hard state, entries or snapshot): the agent bootstraps or joins.</summary>
    public bool IsFresh { get; private set; }

    /// <summary>
    /// The input to <c>new RaftNode(config, state)</c>: hard state, journal snapshot (with <see cref="LatestSnapshot"/>
    /// as its data) and entries as recovered, and as applied index the state machine's, so the core re-delivers the
    /// committed entries after it.
    /// </summary>
    public RaftStorageState InitialState { get; private set; } = RaftStorageState.Empty;

    /// <summary>The key-value state machine.</summary>
    public KvStateMachine Machine => _machine;

    /// <summary>The snapshot the journal starts after (taken here or installed from a leader), or null when none.</summary>
    public StoredSnapshot? LatestSnapshot { get; private set; }

    /// <summary>
    /// True when <see cref="NodeStorageOptions.Snapshots"/> says to snapshot: enough entries or bytes applied since the
    /// last snapshot, or the last one is old enough and something was applied since.
    /// </summary>
    public bool SnapshotDue => _options.Snapshots.IsDue(_entriesSince, _bytesSince, _options.Time.GetUtcNow() - _lastSnapshotAt);

    /// <summary>The journal (for tests and status).</summary>
    internal RaftJournal Journal => _journal;

    /// <summary>
    /// Opens (creating if needed) a node's storage in <paramref name="dataDirectory"/>, reconciles its parts (see the
    /// type's remarks) and loads <see cref="InitialState"/>. Corrupt files throw <see cref="StorageCorruptionException"/>
    /// naming the file, the offset and what was expected.
    /// </summary>
    public static async Task<NodeStorage> OpenAsync(string dataDirectory, NodeStorageOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        options ??= new NodeStorageOptions();
        options.Validate();
        Directory.CreateDirectory(dataDirectory);
        var journal = RaftJournal.Open(Path.Combine(dataDirectory, "journal"), options.Journal);
        KvStateMachine? machine = null;
        try
        {
            var snapshots = new SnapshotStore(Path.Combine(dataDirectory, "snapshots"));
            machine = KvStateMachine.Open(Path.Combine(dataDirectory, "kv"), options.Machine);
            var storage = new NodeStorage(journal, snapshots, machine, options);
            await storage.RecoverAsync(Path.Combine(dataDirectory, "snapshots"), cancellationToken).ConfigureAwait(false);
            return storage;
        }
        catch
        {
            machine?.Dispose();
            journal.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Does step 1 of a Ready: when it carries a snapshot from the leader, restores the state machine from its bytes
    /// (checked whole first; durable when done) and saves it as a snapshot file; then appends the entries and hard state
    /// (and the installed snapshot's marker) to the journal in one durable commit. Returns when all of it is durable.
    /// The driver must not apply the snapshot again: it is applied here. A corrupt snapshot throws
    /// <see cref="StorageCorruptionException"/> before anything changed.
    /// </summary>
    public async ValueTask PersistAsync(Ready ready, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(ready);
        StoredSnapshot? installed = null;
        if (ready.Snapshot is { } received)
        {
            // The state machine first: a crash after it but before the journal's marker leaves it ahead of the durable
            // commit index, which the next open undoes. A corrupt snapshot leaves no file behind.
            var metadata = received.Metadata;
            _machine.RestoreSnapshot(received.Data.Span, $"snapshot {metadata.Index}/{metadata.Term} received from the leader", metadata.Index);
            installed = await _snapshots.SaveAsync(metadata, received.Data, cancellationToken).ConfigureAwait(false);
        }

        if (ready.MustSync)
        {
            await _journal.AppendAsync(ready.Entries, ready.HardState, installed?.Metadata, cancellationToken).ConfigureAwait(false);
        }
        else if (ready.HardState is { } commitOnly)
        {
            _journal.RecordCommit(commitOnly);
        }

        if (installed is not null)
        {
            SnapshotTaken(installed);
        }
    }

    /// <summary>Applies a committed entry to the state machine (see <see cref="KvStateMachine.Apply"/>) and counts it for the snapshot policy.</summary>
    public ApplyResult Apply(Entry entry)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var result = _machine.Apply(entry);
        if (result.Applied)
        {
            _entriesSince++;
            _bytesSince += entry.SizeBytes;
        }

        return result;
    }

    /// <summary>
    /// Snapshots the state machine at its applied index A: checkpoints it (compacting FASTER's log when due), hands the
    /// core its new snapshot with <c>node.Compact(A, …)</c>, streams the state at A into a snapshot file, then compacts
    /// the journal up to A. Call it after <c>Advance</c> (A must not be past the node's applied index) and only when
    /// something was applied since the last snapshot (<see cref="InvalidOperationException"/> otherwise). If writing the
    /// file fails, the node's snapshot reader fails too: treat the exception as fatal and reopen.
    /// </summary>
    public async Task<SnapshotMetadata> SnapshotAsync(RaftNode node, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(node);
        var index = _machine.AppliedIndex;
        if (index <= _journal.Snapshot.Index)
        {
            throw new InvalidOperationException($"nothing to snapshot: the state machine applied up to {index} and the latest snapshot covers {_journal.Snapshot.Index}");
        }

        if (index > node.AppliedIndex)
        {
            throw new InvalidOperationException($"the state machine applied up to {index} but the node only up to {node.AppliedIndex}: snapshot after Advance");
        }

        await _machine.CheckpointAsync(cancellationToken).ConfigureAwait(false);

        // The core computes the snapshot's membership (as of A) in Compact, and the file's header needs it: the core
        // gets a reader that is bound to the file once written. Nothing reads it before (one loop owns node and storage).
        var reader = new DeferredSnapshotReader(index);
        var metadata = node.Compact(index, reader);
        StoredSnapshot stored;
        try
        {
            stored = await _snapshots.SaveAsync(metadata, _machine.WriteSnapshotAsync, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            reader.Fail(e);
            throw;
        }

        reader.Bind(stored);
        await _journal.CompactAsync(metadata, cancellationToken).ConfigureAwait(false);
        SnapshotTaken(stored);
        return metadata;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _machine.Dispose();
        _journal.Dispose();
    }

    private async Task RecoverAsync(string snapshotDirectory, CancellationToken cancellationToken)
    {
        var snapshot = _journal.Snapshot;
        if (snapshot.Index > 0)
        {
            LatestSnapshot = _snapshots.Find(snapshot)
                ?? throw new StorageCorruptionException(Path.Combine(snapshotDirectory, $"snap-{snapshot.Index:D20}-{snapshot.Term:D20}.snap"), 0,
                    $"the file of {snapshot}, which the journal was compacted to; it is missing");
        }

        _snapshots.DeleteNewerThan(snapshot);
        var commit = Math.Max(_journal.HardState.Commit, snapshot.Index);
        if (_machine.AppliedIndex < snapshot.Index || _machine.AppliedIndex > commit)
        {
            if (LatestSnapshot is null)
            {
                _machine.ResetToEmpty();
            }
            else
            {
                using var data = LatestSnapshot.OpenData();
                _machine.RestoreSnapshot(data, snapshot.Index, cancellationToken);
            }
        }

        IsFresh = _journal.HardState == HardState.Initial && _journal.LastIndex == 0;
        InitialState = await _journal.LoadStateAsync(LatestSnapshot, _machine.AppliedIndex, cancellationToken).ConfigureAwait(false);
    }

    private void SnapshotTaken(StoredSnapshot snapshot)
    {
        LatestSnapshot = snapshot;
        _entriesSince = 0;
        _bytesSince = 0;
        _lastSnapshotAt = _options.Time.GetUtcNow();
    }

    // The core's reader of a snapshot whose file is written after Compact returned its metadata.
    private sealed class DeferredSnapshotReader(long index) : ISnapshotReader
    {
        private StoredSnapshot? _snapshot;
        private Exception? _failure;

        public long Length => File.Length;

        public int Read(long offset, Span<byte> destination) => File.Read(offset, destination);

        public void Bind(StoredSnapshot snapshot) => _snapshot = snapshot;

        public void Fail(Exception failure) => _failure = failure;

        private StoredSnapshot File => _snapshot
            ?? throw new InvalidOperationException($"the snapshot at {index} was {(_failure is null ? "not written yet" : "not written")}", _failure);
    }
}
