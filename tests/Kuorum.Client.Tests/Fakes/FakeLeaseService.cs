using Grpc.Core;
using Kuorum.Api.V1;

namespace Kuorum.Client.Tests.Fakes;

/// <summary>kuorum.v1.Lease over the fake store. Leases end only when revoked or expired by a test.</summary>
internal sealed class FakeLeaseService(FakeCluster cluster) : Lease.LeaseBase
{
    public override Task<LeaseGrantResponse> Grant(LeaseGrantRequest request, ServerCallContext context)
    {
        cluster.Enter("Lease.Grant");
        return Task.FromResult(cluster.Store.Grant(request));
    }

    public override async Task KeepAlive(
        IAsyncStreamReader<LeaseKeepAliveRequest> requestStream, IServerStreamWriter<LeaseKeepAliveResponse> responseStream, ServerCallContext context)
    {
        cluster.Enter("Lease.KeepAlive");
        using var open = cluster.Streams.Track("Lease.KeepAlive", context);
        try
        {
            await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
            {
                await responseStream.WriteAsync(cluster.Store.KeepAlive(request));
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The client went away or the test broke the stream.
        }
    }

    public override Task<LeaseRevokeResponse> Revoke(LeaseRevokeRequest request, ServerCallContext context)
    {
        cluster.Enter("Lease.Revoke");
        return Task.FromResult(cluster.Store.Revoke(request));
    }

    public override Task<LeaseTimeToLiveResponse> TimeToLive(LeaseTimeToLiveRequest request, ServerCallContext context)
    {
        cluster.Enter("Lease.TimeToLive");
        return Task.FromResult(cluster.Store.TimeToLive(request));
    }
}
