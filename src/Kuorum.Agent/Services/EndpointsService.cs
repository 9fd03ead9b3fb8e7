using Grpc.Core;
using Kuorum.Agent.Node;
using Kuorum.Api.V1;

namespace Kuorum.Agent.Services;

/// <summary>The endpoint table: every member with its application's address, role, health tier and weight, as the leader published it through the log.</summary>
public sealed class EndpointsService(RaftHost host) : Endpoints.EndpointsBase
{
    /// <inheritdoc />
    public override Task<EndpointTable> List(EndpointsRequest request, ServerCallContext context) =>
        Task.FromResult(ClusterViews.Endpoints(host.View, new PeerTransportView(host.Transport), host.Table, host.Options.WeightingStrategy));

    /// <inheritdoc />
    public override async Task Watch(EndpointsRequest request, IServerStreamWriter<EndpointTable> responseStream, ServerCallContext context)
    {
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, host.ShuttingDown);
        var token = ending.Token;
        string? sent = null;
        while (!token.IsCancellationRequested)
        {
            var changed = Task.WhenAny(host.LeadershipChanged.Next, host.TableChanged.Next);
            var table = ClusterViews.Endpoints(host.View, new PeerTransportView(host.Transport), host.Table, host.Options.WeightingStrategy);
            // A new version, or the same table with other roles (a new leader), is pushed.
            var signature = $"{table.Version}/{string.Join(',', table.Members.Select(m => $"{m.Id}:{(int)m.Role}"))}";
            if (signature != sent)
            {
                await responseStream.WriteAsync(table, token);
                sent = signature;
            }

            // A new table or a leadership change wakes the watch; roles and reachability are looked at again each second.
            await Task.WhenAny(changed, Task.Delay(TimeSpan.FromSeconds(1), token));
        }
    }
}
