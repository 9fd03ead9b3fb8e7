using Kuorum.Operator.Admin;

namespace Kuorum.Operator.Tests.Reconciliation;

/// <summary>
/// A fake of the agents' Admin service for one cluster: a membership, a leader and a term, changed only by the calls
/// the operator makes (and by the test). It enforces what the Raft core enforces: membership calls only on the leader,
/// one change at a time, promotion only of a caught-up learner. Learners catch up after <see cref="CatchUpStatusCalls"/>
/// status calls.
/// </summary>
internal sealed class FakeAgentAdmin : IAgentAdmin
{
    private readonly Lock _lock = new();
    private readonly Dictionary<long, (MemberRole Role, int StatusCallsSinceAdded)> _members = [];
    private readonly List<string> _calls = [];

    public FakeAgentAdmin(int bootstrapMembers)
    {
        for (var id = 1; id <= bootstrapMembers; id++)
        {
            _members[id] = (MemberRole.Voter, 0);
        }
    }

    public long LeaderId { get; private set; } = 1;

    public long Term { get; private set; } = 1;

    public long CommitIndex { get; private set; } = 10;

    public int CatchUpStatusCalls { get; set; } = 2;

    /// <summary>When false every call fails, as when no agent answers.</summary>
    public bool Reachable { get; set; } = true;

    /// <summary>Membership calls in order: "AddLearner 4", "Promote 4", "Remove 5", "Transfer 5".</summary>
    public IReadOnlyList<string> Calls
    {
        get
        {
            lock (_lock)
            {
                return _calls.ToList();
            }
        }
    }

    /// <summary>Called inside each membership call, for tests that check the world at that moment.</summary>
    public Action<string>? OnCall { get; set; }

    public IReadOnlyDictionary<long, MemberRole> Members
    {
        get
        {
            lock (_lock)
            {
                return _members.ToDictionary(m => m.Key, m => m.Value.Role);
            }
        }
    }

    public void ElectLeader(long id)
    {
        lock (_lock)
        {
            LeaderId = id;
            Term++;
        }
    }

    public void LoseLeader()
    {
        lock (_lock)
        {
            LeaderId = 0;
        }
    }

    /// <summary>How many Status calls were made.</summary>
    public int StatusCalls { get; private set; }

    /// <summary>The endpoint of the last Status call (its address, TLS server name and credentials).</summary>
    public AgentEndpoint? LastStatusEndpoint { get; private set; }

    public Task<AgentStatus> StatusAsync(AgentEndpoint agent, CancellationToken ct)
    {
        lock (_lock)
        {
            StatusCalls++;
            LastStatusEndpoint = agent;
            ThrowIfUnreachable();
            foreach (var id in _members.Keys.ToList())
            {
                var (role, calls) = _members[id];
                _members[id] = (role, calls + 1);
            }

            if (!_members.ContainsKey(agent.NodeId))
            {
                // A joining member knows no leader until it is added.
                return Task.FromResult(new AgentStatus(agent.NodeId, 0, 0, 0, []));
            }

            var members = _members.OrderBy(m => m.Key).Select(m => new AgentMember(
                m.Key,
                $"member-{m.Key}:7400",
                m.Value.Role,
                "passing",
                m.Key == LeaderId ? 100 : 50,
                m.Value.Role == MemberRole.Learner && m.Value.StatusCallsSinceAdded < CatchUpStatusCalls ? 0 : CommitIndex)).ToList();
            return Task.FromResult(new AgentStatus(agent.NodeId, LeaderId, Term, CommitIndex, members));
        }
    }

    public Task AddLearnerAsync(AgentEndpoint leader, long id, string address, CancellationToken ct) => Change(leader, $"AddLearner {id}", () =>
    {
        if (_members.ContainsKey(id))
        {
            throw new AgentAdminException($"{id} is already a member");
        }

        _members[id] = (MemberRole.Learner, 0);
    });

    public Task PromoteAsync(AgentEndpoint leader, long id, CancellationToken ct) => Change(leader, $"Promote {id}", () =>
    {
        if (!_members.TryGetValue(id, out var m) || m.Role != MemberRole.Learner || m.StatusCallsSinceAdded < CatchUpStatusCalls)
        {
            throw new AgentAdminException($"{id} is not a caught-up learner");
        }

        _members[id] = (MemberRole.Voter, m.StatusCallsSinceAdded);
    });

    public Task RemoveMemberAsync(AgentEndpoint leader, long id, CancellationToken ct) => Change(leader, $"Remove {id}", () =>
    {
        if (id == LeaderId)
        {
            throw new AgentAdminException("the operator should transfer leadership before removing the leader");
        }

        if (!_members.Remove(id))
        {
            throw new AgentAdminException($"{id} is not a member");
        }
    });

    public Task TransferLeadershipAsync(AgentEndpoint leader, long targetId, CancellationToken ct) => Change(leader, $"Transfer {leader.NodeId}", () =>
    {
        LeaderId = targetId != 0 ? targetId : _members.Where(m => m.Value.Role == MemberRole.Voter && m.Key != LeaderId).Min(m => m.Key);
        Term++;
    });

    private Task Change(AgentEndpoint leader, string call, Action change)
    {
        lock (_lock)
        {
            ThrowIfUnreachable();
            if (leader.NodeId != LeaderId)
            {
                throw new AgentAdminException($"{leader.NodeId} is not the leader", LeaderId);
            }

            OnCall?.Invoke(call);
            change();
            _calls.Add(call);
            CommitIndex++;
            return Task.CompletedTask;
        }
    }

    private void ThrowIfUnreachable()
    {
        if (!Reachable)
        {
            throw new AgentAdminException("connection refused");
        }
    }
}
