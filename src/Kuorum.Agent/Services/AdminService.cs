using System.Text;
using Grpc.Core;
using Kuorum.Agent.Node;
using Kuorum.Api.V1;
using Kuorum.Raft;
using Kuorum.Storage.StateMachine;

namespace Kuorum.Agent.Services;

/// <summary>Cluster administration for the operator and for people. Membership changes run at the leader (forwarded there from a follower), one at a time.</summary>
public sealed class AdminService(RaftHost host) : Api.V1.Admin.AdminBase
{
    /// <inheritdoc />
    public override Task<StatusResponse> Status(StatusRequest request, ServerCallContext context)
    {
        var view = host.View;
        var response = new StatusResponse
        {
            Id = view.Id,
            Role = view.IsLeader ? Role.Leader : view.IsLearner ? Role.Learner : view.Role is RaftRole.Candidate or RaftRole.PreCandidate ? Role.Candidate : Role.Follower,
            Term = view.Term,
            LeaderId = view.LeaderId,
            CommitIndex = view.Commit,
            AppliedIndex = view.Applied,
            LastIndex = view.LastIndex,
            SnapshotIndex = view.SnapshotIndex,
            Revision = view.Revision,
            NotReadyReason = view.NotReadyReason ?? "",
            Degraded = host.Degraded,
            Version = typeof(AdminService).Assembly.GetName().Version?.ToString() ?? "",
        };
        response.Members.AddRange(ClusterViews.Members(view, new PeerTransportView(host.Transport)));
        return Task.FromResult(response);
    }

    /// <inheritdoc />
    public override async Task<MembershipResponse> AddLearner(AddLearnerRequest request, ServerCallContext context)
    {
        if (request.Id < 1)
        {
            throw Requests.Invalid($"id is {request.Id}; member ids are 1 or more");
        }

        var colon = request.Address.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(request.Address.AsSpan(colon + 1), out var port) || port is < 1 or > 65535)
        {
            throw Requests.Invalid($"address is '{request.Address}'; it must be host:port of the member's peer port");
        }

        if (!host.View.IsLeader)
        {
            return await ClusterViews.LeaderAdmin(host).AddLearnerAsync(request, cancellationToken: context.CancellationToken);
        }

        if (host.View.Membership.Contains(request.Id))
        {
            throw new AgentException(StatusCode.AlreadyExists, $"member {request.Id} is already in the configuration ({host.View.Membership})");
        }

        using var deadline = Requests.Deadline(context);
        // The address first, so every member can reach the learner once it is in the configuration.
        await host.ProposeAsync(KvCommand.Put(ReservedKeys.Member(request.Id), Encoding.UTF8.GetBytes(request.Address)), deadline.Token);
        await host.ChangeMembershipAsync(new ConfChange(ConfChangeType.AddLearner, request.Id), deadline.Token);
        return Members();
    }

    /// <inheritdoc />
    public override Task<MembershipResponse> Promote(PromoteRequest request, ServerCallContext context) =>
        Change(new ConfChange(ConfChangeType.PromoteLearner, request.Id), context, (admin, token) => admin.PromoteAsync(request, cancellationToken: token));

    /// <inheritdoc />
    public override Task<MembershipResponse> RemoveMember(RemoveMemberRequest request, ServerCallContext context) =>
        Change(new ConfChange(ConfChangeType.RemoveMember, request.Id), context, (admin, token) => admin.RemoveMemberAsync(request, cancellationToken: token));

    /// <inheritdoc />
    public override Task<TransferLeadershipResponse> TransferLeadership(TransferLeadershipRequest request, ServerCallContext context) =>
        LeadershipService.Transfer(host, request, context);

    /// <inheritdoc />
    public override async Task<SnapshotResponse> Snapshot(SnapshotRequest request, ServerCallContext context)
    {
        using var deadline = Requests.Deadline(context);
        var metadata = await host.SnapshotAsync(deadline.Token);
        return new SnapshotResponse { Index = metadata.Index, Term = metadata.Term };
    }

    private async Task<MembershipResponse> Change(ConfChange change, ServerCallContext context, Func<Api.V1.Admin.AdminClient, CancellationToken, AsyncUnaryCall<MembershipResponse>> forward)
    {
        if (change.NodeId < 1)
        {
            throw Requests.Invalid($"id is {change.NodeId}; member ids are 1 or more");
        }

        if (!host.View.IsLeader)
        {
            return await forward(ClusterViews.LeaderAdmin(host), context.CancellationToken);
        }

        using var deadline = Requests.Deadline(context);
        await host.ChangeMembershipAsync(change, deadline.Token);
        return Members();
    }

    private MembershipResponse Members()
    {
        var response = new MembershipResponse();
        response.Members.AddRange(ClusterViews.Members(host.View, new PeerTransportView(host.Transport)));
        return response;
    }
}
