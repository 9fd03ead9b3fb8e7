namespace Kuorum.Operator.Admin;

/// <summary>
/// The operator's view of the agent's <c>kuorum.v1.Admin</c> gRPC service. Membership calls go to the leader; an
/// agent that is not the leader refuses them with <see cref="AgentAdminException.LeaderId"/> set.
/// </summary>
public interface IAgentAdmin
{
    /// <summary>The agent's view of the cluster; from the leader it includes each member's match index.</summary>
    Task<AgentStatus> StatusAsync(AgentEndpoint agent, CancellationToken ct);

    /// <summary>Adds a non-voting member that receives the log and never campaigns.</summary>
    Task AddLearnerAsync(AgentEndpoint leader, long id, string address, CancellationToken ct);

    /// <summary>Makes a caught-up learner a voter.</summary>
    Task PromoteAsync(AgentEndpoint leader, long id, CancellationToken ct);

    /// <summary>Removes a member from the configuration.</summary>
    Task RemoveMemberAsync(AgentEndpoint leader, long id, CancellationToken ct);

    /// <summary>Hands leadership to <paramref name="targetId"/>, or to the most caught-up voter when it is 0.</summary>
    Task TransferLeadershipAsync(AgentEndpoint leader, long targetId, CancellationToken ct);
}

/// <summary>Where an agent's Admin service answers.</summary>
/// <param name="PodName">The pod.</param>
/// <param name="Ordinal">The pod's StatefulSet ordinal.</param>
/// <param name="Address">host:port of the agent's peer gRPC port (7400), which also serves Admin: where to connect.</param>
public sealed record AgentEndpoint(string PodName, int Ordinal, string Address)
{
    /// <summary>The agent's Raft node id: ordinal + 1.</summary>
    public long NodeId => Ordinal + 1;

    /// <summary>
    /// Under TLS, the name the agent's certificate must carry (its pod's DNS name under the headless Service), sent
    /// as the TLS server name; the connection still goes to <see cref="Address"/>. Null: the host of the address.
    /// </summary>
    public string? ServerName { get; init; }

    /// <summary>Mutual TLS credentials; null for plain HTTP/2 (TLS mode Disabled).</summary>
    public AgentTlsCredentials? Tls { get; init; }
}

/// <summary>Voter or learner.</summary>
public enum MemberRole
{
    /// <summary>Votes and counts in a quorum.</summary>
    Voter,

    /// <summary>Receives the log; neither votes nor counts.</summary>
    Learner,
}

/// <summary>One member as an agent sees it.</summary>
/// <param name="Id">Raft node id.</param>
/// <param name="Address">Peer address.</param>
/// <param name="Role">Voter or learner.</param>
/// <param name="Health">passing, warning, critical or unknown.</param>
/// <param name="Weight">Weight in the endpoint table.</param>
/// <param name="MatchIndex">Highest index known replicated on it (leader's view; 0 elsewhere).</param>
public sealed record AgentMember(long Id, string Address, MemberRole Role, string Health, int Weight, long MatchIndex);

/// <summary>What an agent reports about itself and the cluster.</summary>
/// <param name="NodeId">The answering agent's id.</param>
/// <param name="LeaderId">The leader's id as the agent knows it; 0 when unknown.</param>
/// <param name="Term">The agent's current term.</param>
/// <param name="CommitIndex">The agent's commit index.</param>
/// <param name="Members">The configuration.</param>
public sealed record AgentStatus(long NodeId, long LeaderId, long Term, long CommitIndex, IReadOnlyList<AgentMember> Members);

/// <summary>An Admin call that was refused or could not be made.</summary>
public sealed class AgentAdminException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AgentAdminException(string message, long leaderId = 0, Exception? inner = null)
        : base(message, inner) => LeaderId = leaderId;

    /// <summary>When the call went to a non-leader: the leader it knows of (0 when none).</summary>
    public long LeaderId { get; }
}
