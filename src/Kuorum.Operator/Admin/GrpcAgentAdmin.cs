using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Net.Client;
using Kuorum.Api.V1;

namespace Kuorum.Operator.Admin;

/// <summary>
/// <see cref="IAgentAdmin"/> over the agent's <c>kuorum.v1.Admin</c> gRPC service on its peer port (plain HTTP/2;
/// TLS between agents is not supported yet). One channel per agent address, kept for reuse.
/// </summary>
internal sealed class GrpcAgentAdmin : IAgentAdmin, IDisposable
{
    private readonly ConcurrentDictionary<string, GrpcChannel> _channels = new();

    public async Task<AgentStatus> StatusAsync(AgentEndpoint agent, CancellationToken ct)
    {
        var response = await CallAsync(agent, c => c.StatusAsync(new StatusRequest(), cancellationToken: ct).ResponseAsync).ConfigureAwait(false);
        return new AgentStatus(response.Id, response.LeaderId, response.Term, response.CommitIndex, response.Members.Select(Map).ToList());
    }

    public Task AddLearnerAsync(AgentEndpoint leader, long id, string address, CancellationToken ct) =>
        CallAsync(leader, c => c.AddLearnerAsync(new AddLearnerRequest { Id = id, Address = address }, cancellationToken: ct).ResponseAsync);

    public Task PromoteAsync(AgentEndpoint leader, long id, CancellationToken ct) =>
        CallAsync(leader, c => c.PromoteAsync(new PromoteRequest { Id = id }, cancellationToken: ct).ResponseAsync);

    public Task RemoveMemberAsync(AgentEndpoint leader, long id, CancellationToken ct) =>
        CallAsync(leader, c => c.RemoveMemberAsync(new RemoveMemberRequest { Id = id }, cancellationToken: ct).ResponseAsync);

    public Task TransferLeadershipAsync(AgentEndpoint leader, long targetId, CancellationToken ct) =>
        CallAsync(leader, c => c.TransferLeadershipAsync(new TransferLeadershipRequest { TargetId = targetId }, cancellationToken: ct).ResponseAsync);

    public void Dispose()
    {
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }
    }

    private async Task<T> CallAsync<T>(AgentEndpoint agent, Func<Api.V1.Admin.AdminClient, Task<T>> call)
    {
        var channel = _channels.GetOrAdd(agent.Address, address => GrpcChannel.ForAddress("http://" + address));
        try
        {
            return await call(new Api.V1.Admin.AdminClient(channel)).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            throw new AgentAdminException($"{agent.PodName} ({agent.Address}): {e.Status.StatusCode}: {e.Status.Detail}", 0, e);
        }
    }

    private static AgentMember Map(Member m) => new(
        m.Id,
        m.Address,
        m.Voter ? MemberRole.Voter : MemberRole.Learner,
        m.Health switch
        {
            Health.Passing => "passing",
            Health.Warning => "warning",
            Health.Critical => "critical",
            _ => "unknown",
        },
        m.Weight,
        m.MatchIndex);
}
