using Kuorum.Api.V1;

namespace Kuorum.Client;

/// <summary>
/// One version of the cluster's endpoint table, the same on every agent. Endpoint pickers
/// (<see cref="IEndpointPicker"/>) consume these snapshots from <see cref="KuorumClient.WatchEndpointsAsync"/>.
/// </summary>
public sealed class EndpointSnapshot
{
    /// <summary>A table built by hand, to feed an <see cref="EndpointPicker"/> without a sidecar (tests, tools).</summary>
    /// <param name="version">The table's version.</param>
    /// <param name="strategy">The routing strategy (see <see cref="EndpointStrategies"/>).</param>
    /// <param name="members">The members, in the order the table lists them.</param>
    public EndpointSnapshot(long version, string strategy, IEnumerable<EndpointInfo> members)
    {
        ArgumentNullException.ThrowIfNull(strategy);
        ArgumentNullException.ThrowIfNull(members);
        Version = version;
        Strategy = strategy;
        Members = members.ToArray();
        foreach (var member in Members)
        {
            ArgumentNullException.ThrowIfNull(member, nameof(members));
        }
    }

    internal EndpointSnapshot(EndpointTable table)
    {
        Version = table.Version;
        Strategy = table.Strategy;
        Members = table.Members.Select(m => new EndpointInfo(m)).ToArray();
    }

    /// <summary>The table's version: equal versions mean equal tables.</summary>
    public long Version { get; }

    /// <summary>The cluster's routing strategy: leader-only, random, round-robin, weighted or least-request.</summary>
    public string Strategy { get; }

    /// <summary>Every member, with role, health and weight.</summary>
    public IReadOnlyList<EndpointInfo> Members { get; }
}
