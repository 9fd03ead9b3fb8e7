using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;

namespace Kuorum.Client;

/// <summary>
/// grpc-dotnet client-side load balancing over the cluster's endpoint table: a <c>GrpcChannel</c> to
/// <c>kuorum:///</c> sends each call to one of the members' applications (<see cref="EndpointInfo.AppAddress"/>),
/// following the published weights and strategy as they change.
/// </summary>
/// <remarks>
/// Two pieces, both registered by <see cref="CreateServiceProvider"/> or by
/// <c>services.AddKuorumLoadBalancing()</c>: <see cref="KuorumResolverFactory"/> (scheme <c>kuorum</c>), whose
/// resolver follows <c>Endpoints.Watch</c> on the local sidecar and publishes one address per app address with the
/// member's weight, health and role as attributes (<see cref="KuorumAddressAttributes"/>) and a service config
/// naming the <c>kuorum</c> policy; and <see cref="KuorumLoadBalancerFactory"/> (policy <c>kuorum</c>), a
/// subchannel balancer whose picker applies the table's strategy over the connected replicas.
/// </remarks>
public static class KuorumLoadBalancing
{
    /// <summary>The address scheme the resolver answers: <c>kuorum:///</c>.</summary>
    public const string Scheme = "kuorum";

    /// <summary>The load-balancing policy name in a service config.</summary>
    public const string PolicyName = "kuorum";

    /// <summary>The query parameter of the target that fixes a strategy: <c>kuorum:///?strategy=least-request</c>.</summary>
    public const string StrategyParameter = "strategy";

    /// <summary>The channel target: <c>kuorum:///</c>, or <c>kuorum:///?strategy=…</c> to fix the strategy.</summary>
    /// <param name="strategy">A strategy from <see cref="EndpointStrategies"/>; null to follow the table's.</param>
    /// <returns>The address to pass to <see cref="GrpcChannel.ForAddress(string, GrpcChannelOptions)"/>.</returns>
    /// <exception cref="ArgumentException">The strategy is unknown.</exception>
    public static string Target(string? strategy = null)
    {
        if (strategy is null)
        {
            return $"{Scheme}:///";
        }

        if (!EndpointStrategies.TryNormalize(strategy, out var normalized))
        {
            throw new ArgumentException(
                $"unknown endpoint strategy '{strategy}'; expected one of {string.Join(", ", EndpointStrategies.All)}.", nameof(strategy));
        }

        return $"{Scheme}:///?{StrategyParameter}={normalized}";
    }

    /// <summary>
    /// A service provider holding only the Kuorum resolver and balancer factories, for
    /// <see cref="GrpcChannelOptions.ServiceProvider"/> in applications without dependency injection. (With DI,
    /// call <c>services.AddKuorumLoadBalancing()</c> and pass the application's provider instead.)
    /// </summary>
    /// <param name="client">The client of the local sidecar whose endpoint table the channels follow.</param>
    /// <returns>The provider.</returns>
    public static IServiceProvider CreateServiceProvider(KuorumClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        return new BalancingServices(client);
    }

    /// <summary>
    /// A channel to the application's replicas: <c>kuorum:///</c> (or a fixed strategy), plain-text HTTP/2 unless
    /// <paramref name="configure"/> sets <see cref="GrpcChannelOptions.Credentials"/>, and the Kuorum factories unless
    /// it sets <see cref="GrpcChannelOptions.ServiceProvider"/> (which must then hold them). Share the channel.
    /// </summary>
    /// <param name="client">The client of the local sidecar whose endpoint table the channel follows.</param>
    /// <param name="strategy">A fixed strategy (see <see cref="EndpointStrategies"/>); null to follow the table's.</param>
    /// <param name="configure">Adjusts the channel options (logging, message sizes, credentials, …).</param>
    /// <returns>The channel; dispose it when done.</returns>
    /// <exception cref="ArgumentException">The strategy is unknown.</exception>
    public static GrpcChannel CreateChannel(KuorumClient client, string? strategy = null, Action<GrpcChannelOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        var target = Target(strategy);
        var options = new GrpcChannelOptions();
        configure?.Invoke(options);
        options.ServiceProvider ??= CreateServiceProvider(client);
        options.Credentials ??= ChannelCredentials.Insecure;
        return GrpcChannel.ForAddress(target, options);
    }

    private sealed class BalancingServices(KuorumClient client) : IServiceProvider
    {
        private readonly ResolverFactory[] _resolvers = [new KuorumResolverFactory(client)];
        private readonly LoadBalancerFactory[] _balancers = [new KuorumLoadBalancerFactory()];

        public object? GetService(Type serviceType)
        {
            if (serviceType == typeof(IEnumerable<ResolverFactory>))
            {
                return _resolvers;
            }

            return serviceType == typeof(IEnumerable<LoadBalancerFactory>) ? _balancers : null;
        }
    }
}
