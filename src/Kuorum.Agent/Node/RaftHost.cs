using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Grpc.Core;
using Kuorum.Agent.Configuration;
using Kuorum.Agent.Transport;
using Kuorum.Raft;
using Kuorum.Storage;
using Kuorum.Storage.StateMachine;

namespace Kuorum.Agent.Node;

/// <summary>
/// The one loop that owns the Raft node and its storage. Everything that touches them (messages from peers,
/// proposals, reads, ticks, admin requests) arrives as work in one channel and runs on the loop, one item at a time;
/// after each batch of work the loop drains the node's <see cref="Ready"/>s in the order the core demands: send the
/// immediate messages (a leader's appends and heartbeats, which travel to the followers while its own write is in
/// flight), persist (and wait for the FASTER commit), send the other messages, apply, advance. Work that piles up
/// while a commit is in flight is taken together next time, so concurrent proposals share one disk sync.
/// <para>
/// Other threads see the node through <see cref="View"/> and the signals, and act on it only through the methods
/// here, which post work and await its result.
/// </para>
/// </summary>
public sealed partial class RaftHost : IAsyncDisposable
{
    private readonly AgentOptions _options;
    private readonly NodeStorage _storage;
    private readonly RaftNode _node;
    private readonly PeerTransport _transport;
    private readonly AgentMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<Action> _inbox = Channel.CreateUnbounded<Action>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Action _tick;
    private readonly Dictionary<long, List<Waiter>> _proposals = [];
    private readonly Dictionary<long, TaskCompletionSource<long>> _reads = [];
    private readonly PriorityQueue<Action, long> _afterApply = new();
    private readonly Dictionary<long, string> _addresses = [];
    private readonly LeaseKeeper _leases;
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _shuttingDown = new();
    private ITimer? _timer;
    private Task? _run;
    private long _nextReadContext;
    private long _publishedTerm = -1;
    private long _publishedLeader = -1;
    private Membership? _publishedMembership;
    private Exception? _fault;
    private bool _bootstrapped;

    private readonly record struct Waiter(long Term, TaskCompletionSource<ApplyResult> Completion, long StartedAt);

    private RaftHost(AgentOptions options, NodeStorage storage, RaftNode node, PeerTransport transport, AgentMetrics metrics, TimeProvider time, ILogger logger)
    {
        _options = options;
        _storage = storage;
        _node = node;
        _transport = transport;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _leases = new LeaseKeeper(time);
        _tick = OnTick;
        View = NodeView.Starting(options.NodeId);
    }

    /// <summary>The node as last published.</summary>
    public NodeView View { get; private set; }

    /// <summary>Pulses when the leader, the term, the role or the membership changes.</summary>
    public AsyncSignal LeadershipChanged { get; } = new();

    /// <summary>Pulses when the store's revision moves (after each applied batch that changed it).</summary>
    public AsyncSignal RevisionChanged { get; } = new();

    /// <summary>The state machine's limits, for checking requests before they are proposed.</summary>
    public required KvLimits Limits { get; init; }

    /// <summary>The agent's configuration.</summary>
    public AgentOptions Options => _options;

    /// <summary>The transport to the other agents.</summary>
    public PeerTransport Transport => _transport;

    /// <summary>
    /// Opens the node's storage and builds its Raft node: from the data directory when it holds state, else
    /// bootstrapping the configured members, or (with <see cref="AgentOptions.Join"/>, or when this node is not one of
    /// the bootstrap members) empty, waiting to be added.
    /// </summary>
    public static async Task<RaftHost> OpenAsync(AgentOptions options, PeerTransport transport, AgentMetrics metrics, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        var limits = new KvLimits { MaxKeyBytes = options.MaxKeyBytes, MaxValueBytes = options.MaxValueBytes, MaxTxnOps = options.MaxTxnOps };
        var storageOptions = new NodeStorageOptions
        {
            Machine = new KvStateMachineOptions { Limits = limits },
            Snapshots = new Storage.Snapshots.SnapshotPolicy { MaxEntries = options.SnapshotEntries, MaxAge = options.SnapshotInterval },
            Time = time,
        };
        var storage = await NodeStorage.OpenAsync(options.DataDirectory, storageOptions, cancellationToken).ConfigureAwait(false);
        try
        {
            var config = new RaftConfig
            {
                Id = options.NodeId,
                ElectionTicks = options.ElectionTicks,
                HeartbeatTicks = 1,
                LeaseTicks = Math.Max(1, options.ElectionTicks - 2),
                Random = new SeededRandom((ulong)Stopwatch.GetTimestamp() ^ ((ulong)options.NodeId * 0x9E3779B97F4A7C15UL)),
            };
            config.Validate();
            RaftNode node;
            var bootstrapped = false;
            if (!storage.IsFresh)
            {
                node = new RaftNode(config, storage.InitialState);
                logger.LogInformation("node {Id} recovered from {Directory}: term {Term}, last index {Last}, applied {Applied}",
                    options.NodeId, options.DataDirectory, node.Term, node.LastIndex, node.AppliedIndex);
            }
            else if (!options.Join && options.BootstrapMembers.Contains(options.NodeId))
            {
                node = RaftNode.Bootstrap(config, options.BootstrapMembers.ToArray());
                bootstrapped = true;
                logger.LogInformation("node {Id} bootstraps a new cluster of {Members}", options.NodeId, string.Join(",", options.BootstrapMembers));
            }
            else
            {
                node = new RaftNode(config, RaftStorageState.Empty);
                logger.LogInformation("node {Id} starts empty and waits to be added to the cluster", options.NodeId);
            }

            var host = new RaftHost(options, storage, node, transport, metrics, time, logger) { Limits = limits, _bootstrapped = bootstrapped };
            host.RefreshAddresses();
            host.Publish(force: true);
            return host;
        }
        catch
        {
            storage.Dispose();
            throw;
        }
    }

    /// <summary>Fires when the agent begins to stop, after any leadership hand-over: long-lived streams end on it.</summary>
    public CancellationToken ShuttingDown => _shuttingDown.Token;

    /// <summary>Ends long-lived streams (peer streams, watches) so the servers can stop.</summary>
    public void BeginShutdown() => _shuttingDown.Cancel();

    /// <summary>Starts the loop and the tick timer.</summary>
    public void Start()
    {
        _inbox.Writer.TryWrite(() =>
        {
            if (_node.Membership.Voters.Count == 1 && _node.Membership.Voters.Contains(_options.NodeId))
            {
                // Alone: nobody else's lease or vote matters, lead at once.
                _node.Campaign();
            }
            else if (_bootstrapped)
            {
                // A brand-new cluster has no leader whose lease could be disturbed: skip most of the first timeout
                // (as etcd's initial election tick advance does); pre-vote keeps a slow starter from disrupting.
                for (var i = 0; i < _options.ElectionTicks - 1; i++)
                {
                    _node.Tick();
                }
            }
        });
        _run = Task.Run(RunAsync);
        _timer = _time.CreateTimer(_ => _inbox.Writer.TryWrite(_tick), null, _options.HeartbeatInterval, _options.HeartbeatInterval);
    }

    /// <summary>Completes when the loop stops, faulted if it failed.</summary>
    public Task Completion => _run ?? Task.CompletedTask;

    /// <summary>Hands a Raft message from a peer to the node.</summary>
    public void Receive(Message message)
    {
        _transport.ObserveInbound(message);
        _inbox.Writer.TryWrite(() => _node.Step(message));
    }

    /// <summary>Runs <paramref name="work"/> on the loop and returns its result.</summary>
    public Task<T> InvokeAsync<T>(Func<T> work)
    {
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(() =>
        {
            try
            {
                completion.TrySetResult(work());
            }
            catch (Exception e)
            {
                completion.TrySetException(e);
            }
        }, completion);
        return completion.Task;
    }

    private void Post<T>(Action work, TaskCompletionSource<T> completion)
    {
        if (_fault is not null)
        {
            completion.TrySetException(Unavailable());
        }
        else if (!_inbox.Writer.TryWrite(work))
        {
            completion.TrySetException(new AgentException(StatusCode.Unavailable, "the agent is stopping"));
        }
    }

    private AgentException Unavailable() =>
        new(StatusCode.Unavailable, $"the agent's Raft loop stopped: {_fault?.Message ?? "shutting down"}");

    private async Task RunAsync()
    {
        var reader = _inbox.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stopping.Token).ConfigureAwait(false))
            {
                // Take everything that is waiting: proposals that arrived together share one Ready and one sync.
                var taken = 0;
                while (taken < 4096 && reader.TryRead(out var work))
                {
                    work();
                    taken++;
                }

                await DrainReadyAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // Storage failed (disk full, I/O error): the node cannot keep its promises, so it stops taking part.
            _fault = e;
            _logger.LogCritical(e, "the Raft loop failed; the agent stops serving");
            throw;
        }
        finally
        {
            _fault ??= new ObjectDisposedException(nameof(RaftHost));
            FailAll(Unavailable());
        }
    }

    private async Task DrainReadyAsync()
    {
        while (_node.HasReady)
        {
            var ready = _node.GetReady();

            // A leader's appends leave before its own sync: the followers' syncs overlap the leader's (the core
            // counts the leader's copy only after Advance, so nothing commits on an undurable copy).
            if (ready.ImmediateMessages.Count > 0)
            {
                _transport.Send(ready.ImmediateMessages);
            }

            if (ready.MustSync)
            {
                var started = _time.GetTimestamp();
                await _storage.PersistAsync(ready).ConfigureAwait(false);
                _metrics.PersistSeconds.Record(_time.GetElapsedTime(started).TotalSeconds);
            }
            else if (ready.HardState is not null)
            {
                // Only the commit index moved: written, not waited for.
                await _storage.PersistAsync(ready).ConfigureAwait(false);
            }

            if (ready.Snapshot is { } snapshot)
            {
                OnSnapshotInstalled(snapshot.Metadata);
            }

            if (ready.Messages.Count > 0)
            {
                _transport.Send(ready.Messages);
            }

            var revision = _storage.Machine.Revision;
            var membershipChanged = false;
            foreach (var entry in ready.CommittedEntries)
            {
                var started = _time.GetTimestamp();
                var result = _storage.Apply(entry);
                _metrics.ApplySeconds.Record(_time.GetElapsedTime(started).TotalSeconds);
                membershipChanged |= entry.Type is EntryType.ConfChange or EntryType.Bootstrap;
                Remember(entry, result);
                OnApplied(entry, result);
            }

            foreach (var read in ready.ReadStates)
            {
                if (_reads.Remove(read.Context, out var waiting))
                {
                    waiting.TrySetResult(read.Index);
                }
            }

            _node.Advance(ready);
            RunAfterApply();
            if (membershipChanged)
            {
                RefreshAddresses();
            }

            if (_storage.Machine.Revision != revision || ready.Snapshot is not null)
            {
                RefreshTable();
                RevisionChanged.Pulse();
            }

            Publish(force: ready.SoftState is not null || membershipChanged);
        }

        if (_storage.SnapshotDue || _snapshotRequest is not null)
        {
            var request = _snapshotRequest;
            _snapshotRequest = null;
            try
            {
                var metadata = await _storage.SnapshotAsync(_node).ConfigureAwait(false);
                _metrics.Snapshots.Add(1);
                _logger.LogInformation("snapshot at {Index}/{Term}; log compacted", metadata.Index, metadata.Term);
                request?.TrySetResult(metadata);
            }
            catch (Exception e)
            {
                request?.TrySetException(e);
                throw;
            }

            Publish(force: false);
        }
    }

    private void OnApplied(Entry entry, ApplyResult result)
    {
        if (entry.Type == EntryType.Normal && result.Command is { Kind: KvCommandKind.LeaseGrant } grant && _node.Role == RaftRole.Leader)
        {
            _leases.Track(grant.Lease, grant.TtlMilliseconds);
        }

        if (!_proposals.Remove(entry.Index, out var waiters))
        {
            return;
        }

        foreach (var waiter in waiters)
        {
            if (waiter.Term == entry.Term)
            {
                _metrics.ProposalSeconds.Record(_time.GetElapsedTime(waiter.StartedAt).TotalSeconds);
                waiter.Completion.TrySetResult(result);
            }
            else
            {
                waiter.Completion.TrySetException(LostWrite(entry.Index, entry.Term, waiter.Term));
            }
        }
    }

    private void OnSnapshotInstalled(SnapshotMetadata snapshot)
    {
        _logger.LogInformation("installed snapshot {Index}/{Term} from the leader", snapshot.Index, snapshot.Term);
        foreach (var index in _proposals.Keys.Where(i => i <= snapshot.Index).ToList())
        {
            foreach (var waiter in _proposals[index])
            {
                waiter.Completion.TrySetException(new AgentException(StatusCode.Unavailable,
                    $"this agent installed a snapshot over entry {index}, so the write's outcome is unknown here; read the key to find out"));
            }

            _proposals.Remove(index);
        }

        RefreshAddresses();
        RunAfterApply();
    }

    private void RunAfterApply()
    {
        var applied = _node.AppliedIndex;
        while (_afterApply.TryPeek(out _, out var index) && index <= applied)
        {
            _afterApply.Dequeue()();
        }
    }

    private void OnTick()
    {
        _node.Tick();
        if (_node.Role == RaftRole.Leader)
        {
            foreach (var expired in _leases.Expired(_storage.Machine))
            {
                _logger.LogInformation("lease {Lease} expired; revoking it", expired);
                var proposal = _node.Propose(KvCommand.LeaseRevoke(expired).Encode());
                if (!proposal.IsAccepted)
                {
                    _leases.RetryLater(expired);
                }
            }
        }

        // Publish first: health reads the progress this tick's view already holds.
        Publish(force: false);
        TickHealth();
    }

    private void Publish(bool force)
    {
        var leaderChanged = _node.Term != _publishedTerm || _node.LeaderId != _publishedLeader;
        var membershipChanged = !ReferenceEquals(_node.Membership, _publishedMembership);
        if (leaderChanged && _node.Role == RaftRole.Leader)
        {
            // A new leader restarts every lease's countdown: it cannot know when the old leader last heard a keep-alive.
            _leases.Reset(_storage.Machine.Leases());
        }
        else if (leaderChanged)
        {
            _leases.Clear();
        }

        var status = _node.Status();
        View = new NodeView(status.Id, status.Term, status.LeaderId, status.Role, status.Commit, status.Applied, status.LastIndex,
            status.SnapshotIndex, _storage.Machine.Revision, status.Membership, status.Progress, new Dictionary<long, string>(_addresses));
        if (leaderChanged || membershipChanged || force)
        {
            if (leaderChanged)
            {
                if (_publishedLeader != -1)
                {
                    _metrics.LeaderChanges.Add(1);
                }

                _logger.LogInformation("term {Term}: leader is {Leader} (this node is {Role})", status.Term, status.LeaderId == RaftNode.None ? "unknown" : status.LeaderId, status.Role);
            }

            _publishedTerm = status.Term;
            _publishedLeader = status.LeaderId;
            _publishedMembership = status.Membership;
            LeadershipChanged.Pulse();
        }
    }

    private void RefreshAddresses()
    {
        _addresses.Clear();
        foreach (var id in _node.Membership.All.Concat(_options.BootstrapMembers).Append(_options.NodeId).Distinct())
        {
            if (_options.AddressOf(id) is { } configured)
            {
                _addresses[id] = configured;
            }
        }

        foreach (var record in _storage.Machine.Range(ReservedKeys.MemberPrefix, 1000))
        {
            var text = Encoding.UTF8.GetString(record.Key.Span[ReservedKeys.MemberPrefix.Length..]);
            if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                _addresses[id] = Encoding.UTF8.GetString(record.Value.Span);
            }
        }

        _transport.SetAddresses(_addresses);
    }

    private void FailAll(Exception error)
    {
        foreach (var waiters in _proposals.Values)
        {
            foreach (var waiter in waiters)
            {
                waiter.Completion.TrySetException(error);
            }
        }

        _proposals.Clear();
        foreach (var read in _reads.Values)
        {
            read.TrySetException(error);
        }

        _reads.Clear();
        while (_inbox.Reader.TryRead(out _))
        {
        }
    }

    /// <summary>Stops the loop and closes the storage. Call after the servers stopped.</summary>
    public async ValueTask DisposeAsync()
    {
        _timer?.Dispose();
        _inbox.Writer.TryComplete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await Completion.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Already logged by the loop.
        }

        // The token sources stay undisposed: late stream handlers may still link to ShuttingDown.
        _storage.Dispose();
    }
}
