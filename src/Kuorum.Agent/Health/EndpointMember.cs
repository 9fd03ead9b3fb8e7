namespace Kuorum.Agent.Health;

/// <summary>A member as the leader sees it for weighting.</summary>
/// <param name="Id">Raft node id.</param>
/// <param name="Alive">Whether its agent answers the leader (recently active in Raft); the leader itself is alive.</param>
public readonly record struct EndpointMember(long Id, bool Alive);
