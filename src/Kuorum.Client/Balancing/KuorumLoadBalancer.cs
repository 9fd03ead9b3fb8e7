using System.Net;
using Grpc.Core;
using Grpc.Net.Client.Balancer;
using Kuorum.Client.Internal;
using Microsoft.Extensions.Logging;

namespace Kuorum.Client;

/// <summary>
/// The <c>kuorum</c> policy's balancer. <see cref="SubchannelsLoadBalancer"/> keeps one subchannel per address and
/// asks for a picker whenever a subchannel's state changes; this class also builds a new picker when only the table
/// changed (new weights or strategy for the same addresses), which the base class would not notice, and tracks every
/// subchannel's state itself so that a picker can tell "still connecting" from "failed".
/// The channel calls a balancer (and raises subchannel state changes) under its own lock, one call at a time.
/// </summary>
/// <remarks>
/// Picking among READY subchannels: those with weight 0 are skipped. When none with weight &gt; 0 is READY, calls
/// wait while one of them is still connecting; once all of them have failed, the READY ones are used whatever their
/// weight (panic, as when every weight in the table is 0). <c>leader-only</c> waits while the leader's subchannel
/// connects, and fails calls with UNAVAILABLE when it has failed or the table lists no leader.
/// </remarks>
internal sealed class KuorumLoadBalancer : SubchannelsLoadBalancer
{
    private static readonly PickResult _queue = PickResult.ForQueue();
    private static readonly PickResult _noLeader = PickResult.ForFailure(new Status(
        StatusCode.Unavailable, "the Kuorum endpoint table lists no leader with an app address (strategy leader-only)"));

    private static readonly PickResult _leaderUnreachable = PickResult.ForFailure(new Status(
        StatusCode.Unavailable, "the leader's application cannot be reached (strategy leader-only)"));

    private readonly Dictionary<Subchannel, SubchannelStatus> _states;
    private readonly Dictionary<DnsEndPoint, TableEntry> _entries = [];
    private readonly Dictionary<DnsEndPoint, InFlightCounter> _inFlight = [];
    private string _strategy = EndpointStrategies.Fallback;
    private bool _tableHasLeader;
    private IReadOnlyList<Subchannel>? _lastReady;
    private bool _pickerCreated;

    public KuorumLoadBalancer(IChannelControlHelper controller, ILoggerFactory loggerFactory)
        : this(new StateTrackingController(controller), loggerFactory)
    {
    }

    private KuorumLoadBalancer(StateTrackingController controller, ILoggerFactory loggerFactory)
        : base(controller, loggerFactory)
    {
        _states = controller.States;
    }

    public override void UpdateChannelState(ChannelState state)
    {
        var remembered = state.Status.StatusCode == StatusCode.OK && state.Addresses is { Count: > 0 };
        if (remembered)
        {
            Remember(state.Addresses!);
        }

        _pickerCreated = false;
        base.UpdateChannelState(state);
        if (remembered && !_pickerCreated && State == ConnectivityState.Ready && _lastReady is { } ready)
        {
            // Same connections, new table: the base class kept its picker, so replace it.
            Controller.UpdateState(new BalancerState(ConnectivityState.Ready, CreatePicker(ready)));
        }
    }

    protected override SubchannelPicker CreatePicker(IReadOnlyList<Subchannel> readySubchannels)
    {
        _pickerCreated = true;
        _lastReady = readySubchannels;
        var count = readySubchannels.Count;
        var weights = new int[count];
        var counters = new InFlightCounter[count];
        var results = new PickResult[count];
        var leader = -1;
        var anyWeightedReady = false;
        var tracked = _strategy == EndpointStrategies.LeastRequest;
        for (var i = 0; i < count; i++)
        {
            var subchannel = readySubchannels[i];
            var endPoint = EndPointOf(subchannel);
            var entry = EntryOf(endPoint);
            weights[i] = entry.Weight;
            anyWeightedReady |= entry.Weight > 0;
            if (leader < 0 && entry.Role == MemberRole.Leader)
            {
                leader = i;
            }

            counters[i] = endPoint is null ? new InFlightCounter() : CounterFor(endPoint);

            // One result per subchannel, made once: picking allocates nothing.
            results[i] = PickResult.ForSubchannel(subchannel, tracked ? counters[i] : null);
        }

        if (_strategy == EndpointStrategies.LeaderOnly)
        {
            var noLeader = !_tableHasLeader ? _noLeader : LeaderFailed() ? _leaderUnreachable : _queue;
            return new Picker(Chooser.Create(_strategy, weights, leader, counters), results, noLeader);
        }

        if (!anyWeightedReady && WeightedStillConnecting())
        {
            // Do not send calls to ejected replicas just because the weighted ones have not connected yet.
            return new Picker(Chooser.Nothing, results, _queue);
        }

        return new Picker(Chooser.Create(_strategy, weights, leader, counters), results, _queue);
    }

    /// <summary>
    /// True when some subchannel of weight &gt; 0 is making its first connection attempt (idle or connecting, and
    /// not failed since it was last READY). Reconnections after a failure are not waited for.
    /// </summary>
    private bool WeightedStillConnecting()
    {
        foreach (var (subchannel, status) in _states)
        {
            if (status is { Failed: false, State: ConnectivityState.Idle or ConnectivityState.Connecting }
                && EntryOf(EndPointOf(subchannel)).Weight > 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when the leader's subchannel has failed since it was last READY.</summary>
    private bool LeaderFailed()
    {
        foreach (var (subchannel, status) in _states)
        {
            if (EntryOf(EndPointOf(subchannel)).Role == MemberRole.Leader)
            {
                return status.Failed;
            }
        }

        return false;
    }

    private TableEntry EntryOf(DnsEndPoint? endPoint) =>
        endPoint is not null && _entries.TryGetValue(endPoint, out var entry) ? entry : TableEntry.Unknown;

    private static DnsEndPoint? EndPointOf(Subchannel subchannel)
    {
        if (subchannel.CurrentAddress is { } current)
        {
            return current.EndPoint;
        }

        var addresses = subchannel.GetAddresses();
        return addresses.Count > 0 ? addresses[0].EndPoint : null;
    }

    /// <summary>Keeps the table the addresses carry (weight 1 and no role for an address without our attributes).</summary>
    private void Remember(IReadOnlyList<BalancerAddress> addresses)
    {
        _entries.Clear();
        var strategy = EndpointStrategies.Fallback;
        _tableHasLeader = false;
        foreach (var address in addresses)
        {
            var attributes = address.Attributes;
            var weight = attributes.TryGetValue(KuorumAddressAttributes.Weight, out var w) ? w : 1;
            var role = attributes.TryGetValue(KuorumAddressAttributes.Role, out var r) ? r : MemberRole.Unknown;
            if (attributes.TryGetValue(KuorumAddressAttributes.Strategy, out var s) && EndpointStrategies.TryNormalize(s, out var normalized))
            {
                strategy = normalized;
            }

            _entries[address.EndPoint] = new TableEntry(weight, role);
            _tableHasLeader |= role == MemberRole.Leader;
        }

        _strategy = strategy;
        foreach (var endPoint in _inFlight.Keys.Where(e => !_entries.ContainsKey(e)).ToList())
        {
            _inFlight.Remove(endPoint);
        }
    }

    private InFlightCounter CounterFor(DnsEndPoint endPoint)
    {
        if (!_inFlight.TryGetValue(endPoint, out var counter))
        {
            counter = new InFlightCounter();
            _inFlight[endPoint] = counter;
        }

        return counter;
    }

    private readonly record struct SubchannelStatus(ConnectivityState State, bool Failed);

    private sealed record TableEntry(int Weight, MemberRole Role)
    {
        public static readonly TableEntry Unknown = new(0, MemberRole.Unknown);
    }

    /// <summary>
    /// The channel's controller, passed through, except that it watches the state of every subchannel it creates.
    /// Its registration comes before the base class's, so a picker built on a state change sees that change.
    /// </summary>
    private sealed class StateTrackingController(IChannelControlHelper inner) : IChannelControlHelper
    {
        public Dictionary<Subchannel, SubchannelStatus> States { get; } = [];

        public Subchannel CreateSubchannel(SubchannelOptions options)
        {
            var subchannel = inner.CreateSubchannel(options);
            States[subchannel] = new SubchannelStatus(ConnectivityState.Idle, Failed: false);
            subchannel.OnStateChanged(state =>
            {
                if (state.State == ConnectivityState.Shutdown)
                {
                    States.Remove(subchannel);
                    return;
                }

                // Failed from TRANSIENT_FAILURE until the next READY, through the reconnection attempts between.
                var failed = state.State switch
                {
                    ConnectivityState.TransientFailure => true,
                    ConnectivityState.Ready => false,
                    _ => States.TryGetValue(subchannel, out var previous) && previous.Failed,
                };
                States[subchannel] = new SubchannelStatus(state.State, failed);
            });
            return subchannel;
        }

        public void UpdateState(BalancerState state) => inner.UpdateState(state);

        public void RefreshResolver() => inner.RefreshResolver();
    }

    /// <summary>Applies one strategy over a fixed set of READY subchannels.</summary>
    private sealed class Picker(Chooser chooser, PickResult[] results, PickResult noChoice) : SubchannelPicker
    {
        public override PickResult Pick(PickContext context)
        {
            var chosen = chooser.Choose();
            return chosen < 0 ? noChoice : results[chosen];
        }
    }
}
