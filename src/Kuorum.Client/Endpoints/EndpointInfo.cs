using Kuorum.Api.V1;

namespace Kuorum.Client;

/// <summary>One member of the cluster as an endpoint: where it is, its role, health and routing weight.</summary>
public sealed class EndpointInfo
{
    internal EndpointInfo(Member member)
    {
        Id = member.Id;
        Address = member.Address;
        Role = (MemberRole)member.Role;
        IsVoter = member.Voter;
        Health = (EndpointHealth)member.Health;
        Weight = member.Weight;
        MatchIndex = member.MatchIndex;
        RoundTripTime = member.RttUs > 0 ? TimeSpan.FromMicroseconds(member.RttUs) : null;
    }

    /// <summary>The member's node id.</summary>
    public long Id { get; }

    /// <summary>The member's agent peer address (host:port).</summary>
    public string Address { get; }

    /// <summary>Its Raft role.</summary>
    public MemberRole Role { get; }

    /// <summary>True when it counts in quorums.</summary>
    public bool IsVoter { get; }

    /// <summary>Its application's health tier.</summary>
    public EndpointHealth Health { get; }

    /// <summary>Share of traffic it should get, 0 to 1,000; 0 when ejected.</summary>
    public int Weight { get; }

    /// <summary>The leader's view of its replication progress (highest log index known replicated on it).</summary>
    public long MatchIndex { get; }

    /// <summary>Round-trip time from the local agent to it; null when unknown.</summary>
    public TimeSpan? RoundTripTime { get; }
}
