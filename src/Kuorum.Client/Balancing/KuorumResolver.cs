using System.Net;
using Grpc.Core;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using Kuorum.Client.Internal;
using Microsoft.Extensions.Logging;

namespace Kuorum.Client;

/// <summary>
/// Follows the endpoint table and hands each version to the channel: one address per member with an app address
/// (weight 0 included, so that panic mode and weight changes need no new connections), its member's attributes,
/// and a service config naming the <c>kuorum</c> balancing policy.
/// </summary>
internal sealed class KuorumResolver : Resolver
{
    private readonly KuorumClient _client;
    private readonly string? _fixedStrategy;
    private readonly int _defaultPort;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly ServiceConfig _serviceConfig = new() { LoadBalancingConfigs = { new LoadBalancingConfig(KuorumLoadBalancing.PolicyName) } };
    private Action<ResolverResult>? _listener;

    public KuorumResolver(KuorumClient client, string? fixedStrategy, int defaultPort, ILogger logger)
    {
        _client = client;
        _fixedStrategy = fixedStrategy;
        _defaultPort = defaultPort;
        _logger = logger;
    }

    public override void Start(Action<ResolverResult> listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        if (Interlocked.CompareExchange(ref _listener, listener, null) is not null)
        {
            throw new InvalidOperationException("the resolver has already been started.");
        }

        _ = Task.Run(RunAsync);
    }

    /// <summary>The watch pushes every change, so a refresh has nothing to fetch.</summary>
    public override void Refresh()
    {
    }

    /// <summary>The result for one table version: its addresses and attributes, or a failure when none is usable.</summary>
    internal ResolverResult ToResult(EndpointSnapshot snapshot)
    {
        var strategy = _fixedStrategy;
        if (strategy is null && !EndpointStrategies.TryNormalize(snapshot.Strategy, out strategy))
        {
            ClientLog.UnknownStrategy(_logger, snapshot.Strategy, snapshot.Version, strategy);
        }

        var addresses = new List<BalancerAddress>(snapshot.Members.Count);
        var taken = new HashSet<DnsEndPoint>();
        foreach (var member in snapshot.Members)
        {
            if (member.AppAddress.Length == 0)
            {
                continue;
            }

            if (!AppAddress.TryParse(member.AppAddress, _defaultPort, out var endPoint) || !taken.Add(endPoint))
            {
                ClientLog.AppAddressSkipped(_logger, member.Id, member.AppAddress, snapshot.Version);
                continue;
            }

            var address = new BalancerAddress(endPoint);
            address.Attributes.Set(KuorumAddressAttributes.Endpoint, member);
            address.Attributes.Set(KuorumAddressAttributes.MemberId, member.Id);
            address.Attributes.Set(KuorumAddressAttributes.Weight, member.Weight);
            address.Attributes.Set(KuorumAddressAttributes.Health, member.Health);
            address.Attributes.Set(KuorumAddressAttributes.Role, member.Role);
            address.Attributes.Set(KuorumAddressAttributes.Strategy, strategy);
            address.Attributes.Set(KuorumAddressAttributes.TableVersion, snapshot.Version);
            addresses.Add(address);
        }

        ClientLog.EndpointsResolved(_logger, snapshot.Version, addresses.Count, strategy);
        if (addresses.Count == 0)
        {
            return ResolverResult.ForFailure(new Status(
                StatusCode.Unavailable,
                $"Kuorum endpoint table {snapshot.Version} lists no member with an app address (is the agents' application address configured?)"));
        }

        return ResolverResult.ForResult(addresses, _serviceConfig, serviceConfigStatus: null);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        _stop.Cancel();
    }

    private async Task RunAsync()
    {
        var stop = _stop.Token;
        var backoff = _client.NewBackoff();
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await foreach (var snapshot in _client.WatchEndpointsAsync(stop).ConfigureAwait(false))
                {
                    backoff.Reset();
                    Publish(ToResult(snapshot));
                }
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                // The client was disposed before the channel.
                Publish(ResolverResult.ForFailure(new Status(StatusCode.Unavailable, "the KuorumClient behind this channel was disposed")));
                return;
            }
            catch (KuorumException e)
            {
                // Not a break the watch reconnects after by itself (for instance UNIMPLEMENTED): tell the channel, retry later.
                Publish(ResolverResult.ForFailure(new Status(StatusCode.Unavailable, $"Kuorum endpoint table unavailable: {e.Message}", e)));
                var delay = backoff.Next();
                ClientLog.StreamBroken(_client.Logger, "resolver endpoint watch", e.Message, delay, e);
                try
                {
                    await Task.Delay(delay, _client.Time, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private void Publish(ResolverResult result)
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        try
        {
            _listener!(result);
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException)
        {
            // The channel could not use the result (no 'kuorum' balancer registered, or it is shutting down).
            ClientLog.CallbackFailed(_logger, "the gRPC channel's resolver listener", e);
        }
    }
}
