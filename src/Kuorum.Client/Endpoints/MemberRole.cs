namespace Kuorum.Client;

/// <summary>A member's role in the Raft cluster.</summary>
public enum MemberRole
{
    /// <summary>Not reported.</summary>
    Unknown = 0,

    /// <summary>Follows the leader.</summary>
    Follower = 1,

    /// <summary>Campaigning to become leader.</summary>
    Candidate = 2,

    /// <summary>The leader.</summary>
    Leader = 3,

    /// <summary>A non-voting member catching up.</summary>
    Learner = 4,
}
