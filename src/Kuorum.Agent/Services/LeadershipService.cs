using Grpc.Core;
using Kuorum.Agent.Node;
using Kuorum.Api.V1;
using Kuorum.Raft;

namespace Kuorum.Agent.Services;

/// <summary>Who leads, with the term as fencing token; watching it; giving it up.</summary>
public sealed class LeadershipService(RaftHost host) : Leadership.LeadershipBase
{
    /// <inheritdoc />
    public override Task<LeaderInfo> GetLeader(GetLeaderRequest request, ServerCallContext context) =>
        Task.FromResult(ClusterViews.Leader(host.View));

    /// <inheritdoc />
    public override async Task WatchLeadership(WatchLeadershipRequest request, IServerStreamWriter<LeaderInfo> responseStream, ServerCallContext context)
    {
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, host.ShuttingDown);
        var token = ending.Token;
        LeaderInfo? sent = null;
        while (!token.IsCancellationRequested)
        {
            var changed = host.LeadershipChanged.Next;
            var now = ClusterViews.Leader(host.View);
            if (sent is null || now.LeaderId != sent.LeaderId || now.Term != sent.Term || now.IsLocal != sent.IsLocal)
            {
                await responseStream.WriteAsync(now, token);
                sent = now;
            }

            await changed.WaitAsync(token);
        }
    }

    /// <inheritdoc />
    public override async Task<ResignResponse> Resign(ResignRequest request, ServerCallContext context)
    {
        var view = host.View;
        if (!view.IsLeader)
        {
            throw new AgentException(StatusCode.FailedPrecondition,
                $"this agent ({view.Id}) is not the leader{(view.LeaderId == RaftNode.None ? "" : $"; {view.LeaderId} is")}: there is nothing to resign");
        }

        var after = await host.TransferLeadershipAsync(RaftNode.None, host.Options.ElectionTimeout * 2, context.CancellationToken);
        return new ResignResponse { NewLeaderId = after.LeaderId == view.Id ? 0 : after.LeaderId, Term = after.Term };
    }

    /// <inheritdoc />
    public override Task<TransferLeadershipResponse> TransferLeadership(TransferLeadershipRequest request, ServerCallContext context) =>
        Transfer(host, request, context);

    /// <summary>Transfers leadership here when leading, else at the leader.</summary>
    internal static async Task<TransferLeadershipResponse> Transfer(RaftHost host, TransferLeadershipRequest request, ServerCallContext context)
    {
        if (request.TargetId < 0 || request.TimeoutMs is < 0 or > 60_000)
        {
            throw Requests.Invalid($"target_id must be 0 (the most caught-up voter) or a member id, and timeout_ms 0..60000; got {request.TargetId} and {request.TimeoutMs}");
        }

        if (!host.View.IsLeader)
        {
            return await ClusterViews.LeaderAdmin(host).TransferLeadershipAsync(request, cancellationToken: context.CancellationToken);
        }

        var timeout = request.TimeoutMs > 0 ? TimeSpan.FromMilliseconds(request.TimeoutMs) : host.Options.ElectionTimeout * 2;
        var after = await host.TransferLeadershipAsync(request.TargetId, timeout, context.CancellationToken);
        return new TransferLeadershipResponse { LeaderId = after.LeaderId, Term = after.Term };
    }
}
