namespace Kuorum.Raft;

/// <summary>The leader's view of one member's replication.</summary>
public readonly record struct MemberProgress(long Id, bool IsVoter, long Match, long Next, ReplicationState State, bool RecentActive);

/// <summary>A point-in-time view of a node, for status APIs, metrics and tests.</summary>
public sealed record RaftStatus(
    long Id,
    long Term,
    long Vote,
    RaftRole Role,
    long LeaderId,
    long Commit,
    long Applied,
    long LastIndex,
    long SnapshotIndex,
    Membership Membership,
    long LeadTransferee,
    IReadOnlyList<MemberProgress> Progress);
