using Grpc.Net.Client.Balancer;
using Kuorum.Client;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Kuorum's gRPC resolver (<c>kuorum:///</c>) and load balancer (policy <c>kuorum</c>).</summary>
public static class KuorumLoadBalancingServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="KuorumResolverFactory"/> and <see cref="KuorumLoadBalancerFactory"/>; the resolver takes
    /// the <see cref="KuorumClient"/> registered in the container. Pass the built provider as
    /// <c>GrpcChannelOptions.ServiceProvider</c> of channels to <c>kuorum:///</c>. Registering twice has no effect.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddKuorumLoadBalancing(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ResolverFactory, KuorumResolverFactory>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<LoadBalancerFactory, KuorumLoadBalancerFactory>());
        return services;
    }

    /// <summary>
    /// Registers <see cref="KuorumResolverFactory"/> over <paramref name="client"/> and
    /// <see cref="KuorumLoadBalancerFactory"/>. Registering twice has no effect.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="client">The client of the local sidecar whose endpoint table the channels follow.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddKuorumLoadBalancing(this IServiceCollection services, KuorumClient client)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(client);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ResolverFactory>(new KuorumResolverFactory(client)));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<LoadBalancerFactory, KuorumLoadBalancerFactory>());
        return services;
    }
}
