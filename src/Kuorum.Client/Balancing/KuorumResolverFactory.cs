using Grpc.Net.Client.Balancer;

namespace Kuorum.Client;

/// <summary>
/// Resolves <c>kuorum:///</c> targets: each channel's resolver follows <c>Endpoints.Watch</c> on the local sidecar
/// and publishes the members' app addresses. Register it (with <see cref="KuorumLoadBalancerFactory"/>) in the
/// channel's service provider; see <see cref="KuorumLoadBalancing"/>.
/// </summary>
public sealed class KuorumResolverFactory : ResolverFactory
{
    private readonly KuorumClient _client;

    /// <summary>A factory whose resolvers watch the endpoint table through <paramref name="client"/>.</summary>
    /// <param name="client">The client of the local sidecar; it must outlive the channels.</param>
    public KuorumResolverFactory(KuorumClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
    }

    /// <inheritdoc />
    public override string Name => KuorumLoadBalancing.Scheme;

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The target's <c>strategy</c> parameter names an unknown strategy.</exception>
    public override Resolver Create(ResolverOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var strategy = FixedStrategy(options.Address);
        return new KuorumResolver(_client, strategy, options.DefaultPort, options.LoggerFactory.CreateLogger("Kuorum.Client.Resolver"));
    }

    /// <summary>The strategy fixed by the target's query (<c>?strategy=…</c>), or null to follow the table's.</summary>
    internal static string? FixedStrategy(Uri target)
    {
        var query = target.Query.TrimStart('?');
        foreach (var part in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var separator = part.IndexOf('=', StringComparison.Ordinal);
            var name = Uri.UnescapeDataString(separator < 0 ? part : part[..separator]);
            if (!string.Equals(name, KuorumLoadBalancing.StrategyParameter, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var value = separator < 0 ? string.Empty : Uri.UnescapeDataString(part[(separator + 1)..]);
            if (!EndpointStrategies.TryNormalize(value, out var normalized))
            {
                throw new ArgumentException(
                    $"the target '{target}' names the endpoint strategy '{value}'; expected one of {string.Join(", ", EndpointStrategies.All)}.");
            }

            return normalized;
        }

        return null;
    }
}
