using Grpc.Core;
using Kuorum.Agent.Node;
using Kuorum.Api.V1;

namespace Kuorum.Agent.Services;

/// <summary>The members as endpoints: address, role, health and weight, with a version that changes with the table.</summary>
public sealed class EndpointsService(RaftHost host) : Endpoints.EndpointsBase
{
    /// <inheritdoc />
    public override Task<EndpointTable> List(EndpointsRequest request, ServerCallContext context) =>
        Task.FromResult(ClusterViews.Endpoints(host.View, new PeerTransportView(host.Transport)));

    /// <inheritdoc />
    public override async Task Watch(EndpointsRequest request, IServerStreamWriter<EndpointTable> responseStream, ServerCallContext context)
    {
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, host.ShuttingDown);
        var token = ending.Token;
        long? sent = null;
        while (!token.IsCancellationRequested)
        {
            var changed = host.LeadershipChanged.Next;
            var table = ClusterViews.Endpoints(host.View, new PeerTransportView(host.Transport));
            if (table.Version != sent)
            {
                await responseStream.WriteAsync(table, token);
                sent = table.Version;
            }

            // Health moves without a leadership change: look again at least once an election timeout.
            await Task.WhenAny(changed, Task.Delay(host.Options.ElectionTimeout, token));
        }
    }
}
