using Kuorum.Client.Internal;

namespace Kuorum.Client;

/// <summary>
/// An <see cref="IEndpointPicker"/> fed with tables by <see cref="Update"/>: one subclass per strategy, made by
/// <see cref="Create"/>. Feed it from <see cref="KuorumClient.WatchEndpointsAsync"/>, or use
/// <see cref="KuorumClient.CreateEndpointPicker"/>, which does that (and follows the table's strategy) for you.
/// </summary>
/// <remarks>
/// <see cref="Update"/> builds the new table's state aside and swaps it in atomically: concurrent picks see the old
/// table or the new one, never a mix. In-flight counts follow an endpoint (by app address) from one table to the
/// next, so a lease started under one version ends correctly under another.
/// </remarks>
public abstract class EndpointPicker : IEndpointPicker
{
    private readonly System.Threading.Lock _updateGate = new();
    private volatile Table? _table;

    private protected EndpointPicker()
    {
    }

    /// <inheritdoc />
    public abstract string Strategy { get; }

    /// <inheritdoc />
    public EndpointSnapshot? Snapshot => _table?.Snapshot;

    /// <summary>A picker for <paramref name="strategy"/> (one of <see cref="EndpointStrategies"/>, case-insensitive).</summary>
    /// <param name="strategy">The strategy, typically <see cref="EndpointSnapshot.Strategy"/>.</param>
    /// <returns>A picker with no table yet: call <see cref="Update"/>.</returns>
    /// <exception cref="ArgumentException">The strategy is unknown.</exception>
    public static EndpointPicker Create(string strategy)
    {
        if (!EndpointStrategies.TryNormalize(strategy, out var normalized))
        {
            throw new ArgumentException(
                $"unknown endpoint strategy '{strategy}'; expected one of {string.Join(", ", EndpointStrategies.All)}.", nameof(strategy));
        }

        return normalized switch
        {
            EndpointStrategies.LeaderOnly => new LeaderOnlyEndpointPicker(),
            EndpointStrategies.Random => new RandomEndpointPicker(),
            EndpointStrategies.RoundRobin => new RoundRobinEndpointPicker(),
            EndpointStrategies.LeastRequest => new LeastRequestEndpointPicker(),
            _ => new WeightedEndpointPicker(),
        };
    }

    /// <summary>
    /// Replaces the table. Members without an app address are left out; the table's own strategy is not applied
    /// here (this picker keeps <see cref="Strategy"/>).
    /// </summary>
    /// <param name="snapshot">The new table.</param>
    public void Update(EndpointSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        lock (_updateGate)
        {
            _table = Build(snapshot, _table?.CountersByAddress);
        }
    }

    /// <inheritdoc />
    public EndpointInfo? Pick()
    {
        var table = _table;
        if (table is null)
        {
            return null;
        }

        var chosen = table.Chooser.Choose();
        return chosen < 0 ? null : table.Candidates[chosen];
    }

    /// <inheritdoc />
    public EndpointLease? StartRequest()
    {
        var table = _table;
        if (table is null)
        {
            return null;
        }

        var chosen = table.Chooser.Choose();
        if (chosen < 0)
        {
            return null;
        }

        var counter = table.Counters[chosen];
        counter.Increment();
        return new EndpointLease(table.Candidates[chosen], counter);
    }

    /// <summary>Requests in flight on the endpoint at <paramref name="appAddress"/> (0 when not in the table).</summary>
    internal int InFlight(string appAddress) =>
        _table?.CountersByAddress.TryGetValue(appAddress, out var counter) == true ? counter.Count : 0;

    /// <summary>Carries <paramref name="previous"/>'s in-flight counts over, when the strategy changes.</summary>
    internal void UpdateFrom(EndpointSnapshot snapshot, EndpointPicker? previous)
    {
        lock (_updateGate)
        {
            _table = Build(snapshot, _table?.CountersByAddress ?? previous?._table?.CountersByAddress);
        }
    }

    private Table Build(EndpointSnapshot snapshot, Dictionary<string, InFlightCounter>? previousCounters)
    {
        var candidates = new List<EndpointInfo>(snapshot.Members.Count);
        var byAddress = new Dictionary<string, InFlightCounter>(StringComparer.Ordinal);
        foreach (var member in snapshot.Members)
        {
            // Two members cannot serve at one address; the first listed keeps it.
            if (member.AppAddress.Length == 0 || byAddress.ContainsKey(member.AppAddress))
            {
                continue;
            }

            candidates.Add(member);
            byAddress[member.AppAddress] = previousCounters?.GetValueOrDefault(member.AppAddress) ?? new InFlightCounter();
        }

        var weights = new int[candidates.Count];
        var counters = new InFlightCounter[candidates.Count];
        var leader = -1;
        for (var i = 0; i < candidates.Count; i++)
        {
            weights[i] = candidates[i].Weight;
            counters[i] = byAddress[candidates[i].AppAddress];
            if (leader < 0 && candidates[i].Role == MemberRole.Leader)
            {
                leader = i;
            }
        }

        return new Table(snapshot, [.. candidates], counters, byAddress, Chooser.Create(Strategy, weights, leader, counters));
    }

    private sealed record Table(
        EndpointSnapshot Snapshot,
        EndpointInfo[] Candidates,
        InFlightCounter[] Counters,
        Dictionary<string, InFlightCounter> CountersByAddress,
        Chooser Chooser);
}

/// <summary><see cref="EndpointStrategies.LeaderOnly"/>: always the leader (weights ignored); null when no leader is listed.</summary>
public sealed class LeaderOnlyEndpointPicker : EndpointPicker
{
    /// <inheritdoc />
    public override string Strategy => EndpointStrategies.LeaderOnly;
}

/// <summary><see cref="EndpointStrategies.Random"/>: uniformly at random among the endpoints with weight &gt; 0.</summary>
public sealed class RandomEndpointPicker : EndpointPicker
{
    /// <inheritdoc />
    public override string Strategy => EndpointStrategies.Random;
}

/// <summary><see cref="EndpointStrategies.RoundRobin"/>: in turn among the endpoints with weight &gt; 0.</summary>
public sealed class RoundRobinEndpointPicker : EndpointPicker
{
    /// <inheritdoc />
    public override string Strategy => EndpointStrategies.RoundRobin;
}

/// <summary>
/// <see cref="EndpointStrategies.Weighted"/>: smooth weighted round-robin (nginx's algorithm). Over every run of
/// sum-of-weights consecutive picks each endpoint gets exactly its weight, interleaved as evenly as possible.
/// </summary>
public sealed class WeightedEndpointPicker : EndpointPicker
{
    /// <inheritdoc />
    public override string Strategy => EndpointStrategies.Weighted;
}

/// <summary>
/// <see cref="EndpointStrategies.LeastRequest"/>: power of two choices among the endpoints with weight &gt; 0,
/// drawn by weight, the one with fewer in-flight requests per unit of weight winning. Report requests with
/// <see cref="EndpointPicker.StartRequest"/>; plain <see cref="EndpointPicker.Pick"/> counts nothing.
/// </summary>
public sealed class LeastRequestEndpointPicker : EndpointPicker
{
    /// <inheritdoc />
    public override string Strategy => EndpointStrategies.LeastRequest;
}
