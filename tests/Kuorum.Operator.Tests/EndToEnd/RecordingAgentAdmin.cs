using Kuorum.Operator.Admin;

namespace Kuorum.Operator.Tests.EndToEnd;

/// <summary>The operator's real Admin client, recording each membership call that succeeded ("AddLearner 4", "Promote 4", …).</summary>
internal sealed class RecordingAgentAdmin(IAgentAdmin inner) : IAgentAdmin
{
    private readonly Lock _lock = new();
    private readonly List<string> _calls = [];

    public IReadOnlyList<string> Calls
    {
        get
        {
            lock (_lock)
            {
                return [.. _calls];
            }
        }
    }

    public Task<AgentStatus> StatusAsync(AgentEndpoint agent, CancellationToken ct) => inner.StatusAsync(agent, ct);

    public async Task AddLearnerAsync(AgentEndpoint leader, long id, string address, CancellationToken ct)
    {
        await inner.AddLearnerAsync(leader, id, address, ct);
        Record($"AddLearner {id}");
    }

    public async Task PromoteAsync(AgentEndpoint leader, long id, CancellationToken ct)
    {
        await inner.PromoteAsync(leader, id, ct);
        Record($"Promote {id}");
    }

    public async Task RemoveMemberAsync(AgentEndpoint leader, long id, CancellationToken ct)
    {
        await inner.RemoveMemberAsync(leader, id, ct);
        Record($"Remove {id}");
    }

    public async Task TransferLeadershipAsync(AgentEndpoint leader, long targetId, CancellationToken ct)
    {
        await inner.TransferLeadershipAsync(leader, targetId, ct);
        Record($"Transfer {leader.NodeId}");
    }

    private void Record(string call)
    {
        lock (_lock)
        {
            _calls.Add(call);
        }
    }
}
