namespace Kuorum.Raft;

/// <summary>
/// The state a node must persist before any message that depends on it leaves:
/// current term, the vote cast in that term, and the commit index.
/// </summary>
public readonly record struct HardState(long Term, long Vote, long Commit)
{
    /// <summary>The state of a node that never ran.</summary>
    public static readonly HardState Initial = new(0, RaftNode.None, 0);
}
