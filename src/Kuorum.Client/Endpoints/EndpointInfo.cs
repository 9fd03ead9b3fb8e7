using Kuorum.Api.V1;

namespace Kuorum.Client;

/// <summary>
/// One member of the cluster as an endpoint: where it is, its role, health and routing weight. Snapshots from the
/// sidecar fill every property; build one yourself (object initializer) to feed an <see cref="EndpointPicker"/> in
/// tests or tools.
/// </summary>
public sealed class EndpointInfo
{
    /// <summary>An endpoint with every property at its default; set what you need with an object initializer.</summary>
    public EndpointInfo()
    {
    }

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
        AppAddress = member.AppAddress;
        Latency = member.LatencyUs > 0 ? TimeSpan.FromMicroseconds(member.LatencyUs) : null;
    }

    /// <summary>The member's node id.</summary>
    public long Id { get; init; }

    /// <summary>The member's agent peer address (host:port).</summary>
    public string Address { get; init; } = string.Empty;

    /// <summary>
    /// Where the member's application serves its clients (host:port): the address pickers return and clients dial.
    /// Empty when the member's agent has none configured; pickers skip such members.
    /// </summary>
    public string AppAddress { get; init; } = string.Empty;

    /// <summary>Its Raft role.</summary>
    public MemberRole Role { get; init; }

    /// <summary>True when it counts in quorums.</summary>
    public bool IsVoter { get; init; }

    /// <summary>Its application's health tier.</summary>
    public EndpointHealth Health { get; init; }

    /// <summary>Share of traffic it should get, 0 to 1,000; 0 when ejected.</summary>
    public int Weight { get; init; }

    /// <summary>The leader's view of its replication progress (highest log index known replicated on it).</summary>
    public long MatchIndex { get; init; }

    /// <summary>Round-trip time from the local agent to it; null when unknown.</summary>
    public TimeSpan? RoundTripTime { get; init; }

    /// <summary>Its application's probe latency as the member last reported it (an EWMA); null when unknown.</summary>
    public TimeSpan? Latency { get; init; }

    /// <inheritdoc />
    public override string ToString() =>
        $"member {Id} ({Role}, {Health}, weight {Weight}) at {(AppAddress.Length > 0 ? AppAddress : "no app address")}";
}
