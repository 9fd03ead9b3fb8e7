using Kuorum.Api.V1;

namespace Kuorum.Client;

/// <summary>
/// One version of the cluster's endpoint table, the same on every agent. Endpoint pickers (weighted,
/// least-request) consume these snapshots from <see cref="KuorumClient.WatchEndpointsAsync"/>.
/// </summary>
public sealed class EndpointSnapshot
{
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
