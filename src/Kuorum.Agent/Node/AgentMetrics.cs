using System.Diagnostics.Metrics;
using Kuorum.Agent.Transport;

namespace Kuorum.Agent.Node;

/// <summary>
/// The agent's metrics, on the meter <see cref="MeterName"/>, exported by OpenTelemetry's Prometheus exporter at
/// <c>/metrics</c> on the admin port. Prometheus names: the instrument name with its unit appended
/// (<c>kuorum_proposal_duration_seconds</c> and so on).
/// </summary>
public sealed class AgentMetrics : IDisposable
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Kuorum.Agent";

    private readonly Meter _meter = new(MeterName);

    /// <summary>Creates the instruments that are recorded as things happen.</summary>
    public AgentMetrics()
    {
        ProposalSeconds = _meter.CreateHistogram<double>("kuorum.proposal.duration", "s", "From proposal to applied, for writes made through this agent");
        ApplySeconds = _meter.CreateHistogram<double>("kuorum.apply.duration", "s", "Time to apply one committed entry to the state machine");
        PersistSeconds = _meter.CreateHistogram<double>("kuorum.persist.duration", "s", "Time to make one Ready's entries and hard state durable");
        LeaderChanges = _meter.CreateCounter<long>("kuorum.leader.changes", null, "Times the known leader or term changed");
        Snapshots = _meter.CreateCounter<long>("kuorum.snapshots", null, "Snapshots taken by this agent");
        HealthTransfers = _meter.CreateCounter<long>("kuorum.health.transfers", null, "Leadership hand-overs because this agent's application was critical");
        ProbeSeconds = _meter.CreateHistogram<double>("kuorum.probe.duration", "s", "Latency of each probe of the local application");
    }

    /// <summary>Hand-overs caused by health.</summary>
    public Counter<long> HealthTransfers { get; }

    /// <summary>Probe latency.</summary>
    public Histogram<double> ProbeSeconds { get; }

    /// <summary>Proposal latency.</summary>
    public Histogram<double> ProposalSeconds { get; }

    /// <summary>Apply latency per entry.</summary>
    public Histogram<double> ApplySeconds { get; }

    /// <summary>Durable write latency per Ready.</summary>
    public Histogram<double> PersistSeconds { get; }

    /// <summary>Leader changes seen.</summary>
    public Counter<long> LeaderChanges { get; }

    /// <summary>Snapshots taken.</summary>
    public Counter<long> Snapshots { get; }

    /// <summary>Registers the gauges read from the node's published view, the transport and the health state.</summary>
    public void Observe(Func<NodeView> view, PeerTransport transport, RaftHost host)
    {
        _meter.CreateObservableGauge("kuorum.member.tier", () =>
            (host.Table?.Entries ?? []).Select(e => new Measurement<int>((int)e.Tier, new KeyValuePair<string, object?>("member", e.Id))),
            null, "Health tier per member in the endpoint table: 0 unknown, 1 passing, 2 warning, 3 critical");
        _meter.CreateObservableGauge("kuorum.member.weight", () =>
            (host.Table?.Entries ?? []).Select(e => new Measurement<int>(e.Weight, new KeyValuePair<string, object?>("member", e.Id))),
            null, "Weight per member in the endpoint table (0..1000)");
        _meter.CreateObservableGauge("kuorum.endpoints.version", () => host.Table?.Version ?? 0, null, "Version of the endpoint table this agent serves");
        _meter.CreateObservableGauge("kuorum.degraded", () => host.Degraded ? 1 : 0, null, "1 while this leader's application is critical and no healthy voter could take over");
        _meter.CreateObservableGauge("kuorum.local.tier", () => (int)host.LocalTier, null, "This agent's application tier");
        _meter.CreateObservableGauge("kuorum.term", () => view().Term, null, "Current Raft term");
        _meter.CreateObservableGauge("kuorum.commit.index", () => view().Commit, null, "Highest committed log index");
        _meter.CreateObservableGauge("kuorum.applied.index", () => view().Applied, null, "Highest applied log index");
        _meter.CreateObservableGauge("kuorum.revision", () => view().Revision, null, "The key-value store's revision");
        _meter.CreateObservableGauge("kuorum.is.leader", () => view().IsLeader ? 1 : 0, null, "1 when this agent leads");
        _meter.CreateObservableGauge("kuorum.leader.id", () => view().LeaderId, null, "Node id of the known leader (0: none)");
        _meter.CreateObservableGauge("kuorum.replication.lag", () =>
        {
            var v = view();
            return v.IsLeader
                ? v.Progress.Where(p => p.Id != v.Id).Select(p => new Measurement<long>(v.LastIndex - p.Match, new KeyValuePair<string, object?>("peer", p.Id)))
                : [];
        }, "{entries}", "Entries the leader holds that a member does not (leader only)");
        _meter.CreateObservableGauge("kuorum.peer.rtt", () =>
            transport.RoundTrips.Select(p => new Measurement<double>(p.Value.TotalSeconds, new KeyValuePair<string, object?>("peer", p.Key))),
            "s", "Heartbeat round-trip time to each peer");
    }

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}
