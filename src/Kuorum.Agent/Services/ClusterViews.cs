using Grpc.Core;
using Kuorum.Agent.Node;
using Kuorum.Api.V1;
using Kuorum.Raft;

namespace Kuorum.Agent.Services;

/// <summary>Members, leadership and endpoint tables as the API shows them, from the node's published view.</summary>
internal static class ClusterViews
{
    public static LeaderInfo Leader(NodeView view) => new()
    {
        LeaderId = view.LeaderId,
        LeaderAddress = view.Addresses.GetValueOrDefault(view.LeaderId, ""),
        Term = view.Term,
        IsLocal = view.IsLeader,
        LocalId = view.Id,
    };

    public static IEnumerable<Member> Members(NodeView view, PeerTransportView transport)
    {
        var progress = view.Progress.ToDictionary(p => p.Id);
        foreach (var id in view.Membership.All.Order())
        {
            var voter = view.Membership.Voters.Contains(id);
            var role = id == view.LeaderId ? Role.Leader : !voter ? Role.Learner
                : id == view.Id && view.Role is RaftRole.Candidate or RaftRole.PreCandidate ? Role.Candidate : Role.Follower;
            // Health: the leader knows who answered recently; a follower knows only itself and the leader.
            var health = id == view.Id || id == view.LeaderId ? Api.V1.Health.Passing
                : view.IsLeader && progress.TryGetValue(id, out var p) ? (p.RecentActive ? Api.V1.Health.Passing : Api.V1.Health.Critical)
                : Api.V1.Health.Unknown;
            yield return new Member
            {
                Id = id,
                Address = view.Addresses.GetValueOrDefault(id, ""),
                Role = role,
                Voter = voter,
                Health = health,
                Weight = health == Api.V1.Health.Critical ? 0 : 1000,
                MatchIndex = progress.TryGetValue(id, out var pr) ? pr.Match : 0,
                RttUs = transport.RttMicroseconds(id),
            };
        }
    }

    /// <summary>
    /// The endpoint table: the one the leader published through the log (every agent serves the same version), with
    /// each member's current role; before any was published, the members with the leader's heartbeat view, version 0.
    /// </summary>
    public static EndpointTable Endpoints(NodeView view, PeerTransportView transport, Health.EndpointTable? replicated, string strategy)
    {
        var members = Members(view, transport).ToDictionary(m => m.Id);
        var table = new EndpointTable { Strategy = replicated?.Strategy ?? strategy, Version = replicated?.Version ?? 0 };
        if (replicated is null)
        {
            table.Members.AddRange(members.Values.Select(m => { m.RttUs = 0; m.MatchIndex = 0; return m; }));
            return table;
        }

        foreach (var entry in replicated.Entries)
        {
            var member = members.GetValueOrDefault(entry.Id) ?? new Member { Id = entry.Id, Role = Role.Unknown };
            member.AppAddress = entry.AppAddress;
            member.Health = (Api.V1.Health)(int)entry.Tier;
            member.Weight = entry.Weight;
            member.LatencyUs = entry.LatencyMicros;
            member.RttUs = 0;
            member.MatchIndex = 0;
            table.Members.Add(member);
        }

        return table;
    }

    /// <summary>The leader's peer channel for forwarding an admin call, or UNAVAILABLE.</summary>
    public static Api.V1.Admin.AdminClient LeaderAdmin(RaftHost host)
    {
        var leader = host.View.LeaderId;
        if (leader == RaftNode.None)
        {
            throw new AgentException(StatusCode.Unavailable, "no leader is known; retry after an election");
        }

        var channel = host.Transport.ChannelTo(leader)
            ?? throw new AgentException(StatusCode.Unavailable, $"the address of leader {leader} is unknown");
        return new Api.V1.Admin.AdminClient(channel);
    }
}

/// <summary>Round-trip times as the API reports them.</summary>
internal readonly struct PeerTransportView(Transport.PeerTransport transport)
{
    public long RttMicroseconds(long id) => transport.RoundTrips.TryGetValue(id, out var rtt) ? (long)(rtt.TotalMilliseconds * 1000) : 0;
}
