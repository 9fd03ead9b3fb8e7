using Grpc.Core;
using Kuorum.Api.V1;

namespace Kuorum.Client.Tests.Fakes;

/// <summary>kuorum.v1.Endpoints over the fake's endpoint table.</summary>
internal sealed class FakeEndpointsService(FakeCluster cluster) : Api.V1.Endpoints.EndpointsBase
{
    public override Task<EndpointTable> List(EndpointsRequest request, ServerCallContext context)
    {
        cluster.Enter("Endpoints.List");
        return Task.FromResult(cluster.Endpoints.Current);
    }

    public override async Task Watch(EndpointsRequest request, IServerStreamWriter<EndpointTable> responseStream, ServerCallContext context)
    {
        cluster.Enter("Endpoints.Watch");
        using var open = cluster.Streams.Track("Endpoints.Watch", context);
        var channel = cluster.Endpoints.Subscribe();
        try
        {
            await foreach (var table in channel.Reader.ReadAllAsync(context.CancellationToken))
            {
                await responseStream.WriteAsync(table);
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The client went away or the test broke the stream.
        }
        finally
        {
            cluster.Endpoints.Unsubscribe(channel);
        }
    }
}
