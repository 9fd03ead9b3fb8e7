using Kuorum.Api.V1;

namespace Kuorum.Client;

/// <summary>Who leads the cluster, as the local sidecar sees it.</summary>
/// <param name="LeaderId">Node id of the leader; 0 when no leader is known.</param>
/// <param name="LeaderAddress">Peer address of the leader's agent; empty when no leader is known.</param>
/// <param name="Term">
/// The leadership's Raft term: its fencing token. Every later leadership has a larger term. When no leader is
/// known it is the last term seen (0 before any).
/// </param>
/// <param name="IsLocal">True when the local sidecar is the leader: this application instance leads.</param>
/// <param name="LocalId">Node id of the local sidecar (0 when not known).</param>
public sealed record LeadershipState(long LeaderId, string LeaderAddress, long Term, bool IsLocal, long LocalId)
{
    /// <summary>Nothing known yet: no leader, term 0.</summary>
    public static LeadershipState Unknown { get; } = new(0, string.Empty, 0, false, 0);

    /// <summary>True when a leader is known.</summary>
    public bool HasLeader => LeaderId != 0;

    internal static LeadershipState From(LeaderInfo info) =>
        new(info.LeaderId, info.LeaderAddress, info.Term, info.IsLocal && info.LeaderId != 0, info.LocalId);

    /// <summary>The same term, with no leader known: what a watcher reports when it loses its sidecar.</summary>
    internal LeadershipState WithoutLeader() => this with { LeaderId = 0, LeaderAddress = string.Empty, IsLocal = false };
}
