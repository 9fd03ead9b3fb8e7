using Kuorum.Raft;

namespace Kuorum.Agent.Node;

/// <summary>
/// What the Raft loop last published about its node, for services, metrics and probes on other threads. Immutable;
/// the loop replaces it when leadership, membership or the indexes move (indexes at least every tick).
/// </summary>
public sealed record NodeView(
    long Id,
    long Term,
    long LeaderId,
    RaftRole Role,
    long Commit,
    long Applied,
    long LastIndex,
    long SnapshotIndex,
    long Revision,
    Membership Membership,
    IReadOnlyList<MemberProgress> Progress,
    IReadOnlyDictionary<long, string> Addresses)
{
    /// <summary>Before the loop has started.</summary>
    public static NodeView Starting(long id) =>
        new(id, 0, RaftNode.None, RaftRole.Follower, 0, 0, 0, 0, 0, Membership.Empty, [], new Dictionary<long, string>());

    /// <summary>True when this node leads.</summary>
    public bool IsLeader => Role == RaftRole.Leader;

    /// <summary>True when this node is a learner in its configuration.</summary>
    public bool IsLearner => Membership.Learners.Contains(Id);

    /// <summary>Why the agent should not receive traffic yet, or null when it is ready.</summary>
    public string? NotReadyReason =>
        !Membership.Contains(Id) ? "not a member of the cluster's configuration yet"
        : LeaderId == RaftNode.None ? "no leader is known"
        : Applied < Commit ? $"catching up: applied {Applied} of {Commit} committed entries"
        : null;
}
