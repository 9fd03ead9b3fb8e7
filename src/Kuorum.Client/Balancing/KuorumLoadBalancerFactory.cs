using Grpc.Net.Client.Balancer;

namespace Kuorum.Client;

/// <summary>
/// The <c>kuorum</c> load-balancing policy: one subchannel per published app address, and a picker that applies the
/// endpoint table's strategy and weights over the READY subchannels. Register it (with
/// <see cref="KuorumResolverFactory"/>) in the channel's service provider; see <see cref="KuorumLoadBalancing"/>.
/// </summary>
/// <remarks>
/// Weights, roles and the strategy come from the address attributes the <c>kuorum</c> resolver sets
/// (<see cref="KuorumAddressAttributes"/>); an address without them counts with weight 1. Among READY subchannels
/// those with weight 0 are skipped unless every READY one has weight 0 (panic: all of them are used).
/// <c>leader-only</c> sends every call to the leader: while the leader's subchannel is connecting calls wait for
/// it, and when the table lists no leader they fail with UNAVAILABLE.
/// </remarks>
public sealed class KuorumLoadBalancerFactory : LoadBalancerFactory
{
    /// <inheritdoc />
    public override string Name => KuorumLoadBalancing.PolicyName;

    /// <inheritdoc />
    public override LoadBalancer Create(LoadBalancerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new KuorumLoadBalancer(options.Controller, options.LoggerFactory);
    }
}
