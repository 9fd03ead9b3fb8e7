using Kuorum.Agent.Health;
using Kuorum.Raft;
using Kuorum.Storage.StateMachine;

namespace Kuorum.Agent.Node;

// Health on the loop: the local application's tier decides whether this node may campaign and whether, as leader, it
// hands leadership to a healthy voter; the leader gathers every member's report, turns them into weights and
// publishes the endpoint table through the log (a reserved key), so every agent serves the same table.
public sealed partial class RaftHost
{
    private const int WeightTicks = 5;
    private readonly Dictionary<long, HealthReport> _reports = [];
    private readonly Dictionary<long, string> _appAddresses = [];

    // When the leader last saw each member active. Raft's own flag is cleared at every check-quorum round and set
    // again by the next answer, so it is sampled every tick and a member counts as alive for two election timeouts.
    private readonly Dictionary<long, TimeSpan> _lastActive = [];
    private long _activeTerm;
    private TimeSpan _leaderSince;
    // Probe latencies on a busy node jitter by a few milliseconds; only differences well above that move weights.
    private readonly WeightOptions _weightOptions = new() { LatencyTolerance = TimeSpan.FromMilliseconds(20) };
    private readonly long _healthClockStart = TimeProvider.System.GetTimestamp();
    private EndpointWeights? _computed;
    private EndpointWeights? _published;
    private long _tableModRevision = -1;
    private long _pendingTableIndex;
    private int _ticksSinceWeights;
    private int _ticksSinceHandOver;
    private HealthTier _localTier = HealthTier.Unknown;

    /// <summary>The endpoint table as replicated (null before the first leader published one).</summary>
    public EndpointTable? Table { get; private set; }

    /// <summary>Pulses when a new endpoint table is applied.</summary>
    public AsyncSignal TableChanged { get; } = new();

    /// <summary>True while this node leads with a critical application and no healthy voter could take over.</summary>
    public bool Degraded { get; private set; }

    /// <summary>This agent's application tier, as last probed.</summary>
    public HealthTier LocalTier => _localTier;

    private TimeSpan HealthNow => _time.GetElapsedTime(_healthClockStart);

    /// <summary>The local probe's verdict: a critical application stops this node campaigning and makes a leader hand over.</summary>
    public void SetLocalHealth(HealthTier tier, TimeSpan latency) => _inbox.Writer.TryWrite(() => OnLocalHealth(tier, latency));

    /// <summary>For the peer service: a member's report reaches the leader. Returns the table version.</summary>
    public Task<long> ReceiveReportAsync(long member, HealthTier tier, TimeSpan latency, string appAddress) => InvokeAsync(() =>
    {
        if (_node.Role != RaftRole.Leader)
        {
            throw new NotLeaderException(_node.LeaderId, "health reports go to the leader");
        }

        _reports[member] = new HealthReport(tier, latency, HealthNow);
        if (appAddress.Length > 0)
        {
            _appAddresses[member] = appAddress;
        }

        return Table?.Version ?? 0;
    });

    private void OnLocalHealth(HealthTier tier, TimeSpan latency)
    {
        var previous = _localTier;
        _localTier = tier;
        _reports[_options.NodeId] = new HealthReport(tier, latency, HealthNow);
        if (_options.PublishedAppAddress is { Length: > 0 } address)
        {
            _appAddresses[_options.NodeId] = address;
        }

        _node.CampaignSuppressed = tier == HealthTier.Critical;
        if (tier != previous)
        {
            _logger.LogInformation("application is {Tier} (was {Previous}){Note}", tier, previous,
                tier == HealthTier.Critical ? ": this node will not campaign" : "");
        }

        if (tier == HealthTier.Critical && _node.Role == RaftRole.Leader && previous != HealthTier.Critical)
        {
            HandOverForHealth();
        }
        else if (tier != HealthTier.Critical && Degraded)
        {
            Degraded = false;
            _logger.LogInformation("application recovered: no longer degraded");
        }
    }

    // A leader whose application is critical hands over to the most caught-up voter whose application is healthy.
    private void HandOverForHealth()
    {
        _ticksSinceHandOver = 0;
        var now = HealthNow;
        var best = _node.Status().Progress
            .Where(p => p.Id != _options.NodeId && p.IsVoter && IsAlive(p.Id, now)
                && _reports.TryGetValue(p.Id, out var r) && now - r.ReportedAt <= _weightOptions.ReportStaleAfter
                && r.Tier is HealthTier.Passing or HealthTier.Warning)
            .OrderByDescending(p => p.Match)
            .FirstOrDefault();
        if (best.Id == RaftNode.None)
        {
            if (!Degraded)
            {
                _logger.LogWarning("application is critical but no healthy, reachable voter can take over: staying leader, degraded");
            }

            Degraded = true;
            return;
        }

        var result = _node.TransferLeadership(best.Id);
        if (result.IsAccepted)
        {
            Degraded = false;
            _metrics.HealthTransfers.Add(1);
            _logger.LogInformation("application is critical: handing leadership to {Target}, whose application is healthy", best.Id);
        }
    }

    private void TickHealth()
    {
        if (_node.Role != RaftRole.Leader)
        {
            return;
        }

        if (_localTier == HealthTier.Critical && ++_ticksSinceHandOver >= _options.ElectionTicks)
        {
            HandOverForHealth();
        }

        var now = HealthNow;
        if (_activeTerm != _node.Term)
        {
            // A new leader has not heard from anyone yet: everyone starts alive, and its weights start from the
            // replicated table (slow start carries over), once fresh reports had time to arrive.
            _activeTerm = _node.Term;
            _leaderSince = now;
            _lastActive.Clear();
            foreach (var id in _node.Membership.All)
            {
                _lastActive[id] = now;
            }

            _computed = null;
            _published = null;
        }

        foreach (var p in View.Progress.Where(p => p.RecentActive))
        {
            _lastActive[p.Id] = now;
        }

        // Until every member has reported to this leader (or a report period passed), publish nothing: an earlier
        // leader never reported its own application to anyone, so what this node knows of it may be stale.
        var grace = _options.Probe.Period > _options.ElectionTimeout ? _options.Probe.Period : _options.ElectionTimeout;
        var reportedSinceLead = _node.Membership.All.All(id => _reports.TryGetValue(id, out var r) && r.ReportedAt >= _leaderSince);
        if (now - _leaderSince < grace && !reportedSinceLead)
        {
            return;
        }

        if (++_ticksSinceWeights < WeightTicks || _pendingTableIndex > _node.AppliedIndex)
        {
            return;
        }

        _ticksSinceWeights = 0;
        var members = _node.Membership.All.Select(id => new EndpointMember(id, IsAlive(id, now))).ToList();
        _computed = WeightCalculator.Compute(members, _reports, now,
            _computed ?? (Table is { } replicated ? EndpointWeights.FromTable(replicated, now, _weightOptions) : null), _weightOptions);

        var addressesChanged = Table is null || Table.Strategy != _options.WeightingStrategy
            || Table.Entries.Count != members.Count
            || Table.Entries.Any(e => _appAddresses.GetValueOrDefault(e.Id, "") != e.AppAddress);
        if (!addressesChanged && !_computed.DiffersFrom(_published, weightTolerance: 100))
        {
            return;
        }

        var table = _computed.ToTable((Table?.Version ?? 0) + 1, _options.WeightingStrategy, id => _appAddresses.GetValueOrDefault(id, ""));
        var proposal = _node.Propose(KvCommand.Put(ReservedKeys.Endpoints, table.Encode()).Encode());
        if (proposal.IsAccepted)
        {
            _published = _computed;
            _pendingTableIndex = proposal.Index;
        }
    }

    // This node itself, or a member the leader heard from within two election timeouts.
    private bool IsAlive(long id, TimeSpan now) =>
        id == _options.NodeId || (_lastActive.TryGetValue(id, out var seen) && now - seen <= _options.ElectionTimeout * 2);

    // After applying: pick up a new table.
    private void RefreshTable()
    {
        if (_storage.Machine.Get(ReservedKeys.Endpoints) is not { } record || record.ModRevision == _tableModRevision)
        {
            return;
        }

        _tableModRevision = record.ModRevision;
        try
        {
            Table = EndpointTable.Decode(record.Value.Span);
            TableChanged.Pulse();
        }
        catch (FormatException e)
        {
            _logger.LogError("the replicated endpoint table does not decode ({Error}); keeping version {Version}", e.Message, Table?.Version);
        }
    }
}
