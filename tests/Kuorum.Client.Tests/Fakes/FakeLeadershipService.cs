using Grpc.Core;
using Kuorum.Api.V1;

namespace Kuorum.Client.Tests.Fakes;

/// <summary>kuorum.v1.Leadership over the fake's leadership state.</summary>
internal sealed class FakeLeadershipService(FakeCluster cluster) : Api.V1.Leadership.LeadershipBase
{
    public override Task<LeaderInfo> GetLeader(GetLeaderRequest request, ServerCallContext context)
    {
        cluster.Enter("Leadership.GetLeader");
        return Task.FromResult(cluster.Leadership.Current);
    }

    public override async Task WatchLeadership(WatchLeadershipRequest request, IServerStreamWriter<LeaderInfo> responseStream, ServerCallContext context)
    {
        cluster.Enter("Leadership.WatchLeadership");
        using var open = cluster.Streams.Track("Leadership.WatchLeadership", context);
        var channel = cluster.Leadership.Subscribe();
        try
        {
            await foreach (var info in channel.Reader.ReadAllAsync(context.CancellationToken))
            {
                await responseStream.WriteAsync(info);
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The client went away or the test broke the stream.
        }
        finally
        {
            cluster.Leadership.Unsubscribe(channel);
        }
    }

    public override Task<ResignResponse> Resign(ResignRequest request, ServerCallContext context)
    {
        cluster.Enter("Leadership.Resign");
        var current = cluster.Leadership.Current;
        if (!current.IsLocal)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"this agent ({current.LocalId}) is not the leader; the leader is {current.LeaderId}"));
        }

        var next = current.LocalId + 1;
        cluster.Leadership.Set(next, current.Term + 1);
        return Task.FromResult(new ResignResponse { NewLeaderId = next, Term = current.Term + 1 });
    }

    public override Task<TransferLeadershipResponse> TransferLeadership(TransferLeadershipRequest request, ServerCallContext context)
    {
        cluster.Enter("Leadership.TransferLeadership");
        var current = cluster.Leadership.Current;
        var target = request.TargetId == 0 ? current.LeaderId + 1 : request.TargetId;
        cluster.Leadership.Set(target, current.Term + 1);
        return Task.FromResult(new TransferLeadershipResponse { LeaderId = target, Term = current.Term + 1 });
    }
}
