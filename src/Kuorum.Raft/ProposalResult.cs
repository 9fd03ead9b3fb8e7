namespace Kuorum.Raft;

/// <summary>What became of a proposal or request.</summary>
public enum ProposalStatus
{
    /// <summary>Appended to the leader's log at <see cref="ProposalResult.Index"/>; wait for it to be applied.</summary>
    Accepted,

    /// <summary>This node is not the leader; <see cref="ProposalResult.LeaderHint"/> names the leader if known.</summary>
    NotLeader,

    /// <summary>A leadership transfer is under way; retry after it completes.</summary>
    TransferInProgress,

    /// <summary>Too many uncommitted bytes; retry later.</summary>
    Overloaded,

    /// <summary>The request is invalid; <see cref="ProposalResult.Error"/> says why.</summary>
    Invalid,

    /// <summary>The leader cannot take this request now (an earlier membership change is uncommitted, or it has not committed an entry of its term yet); retry later.</summary>
    Busy,
}

/// <summary>The outcome of <see cref="RaftNode.Propose(ReadOnlyMemory{byte})"/> and related calls.</summary>
public readonly record struct ProposalResult(ProposalStatus Status, long Index, long Term, long LeaderHint, string? Error)
{
    /// <summary>True when accepted.</summary>
    public bool IsAccepted => Status == ProposalStatus.Accepted;

    internal static ProposalResult Accepted(long index, long term) => new(ProposalStatus.Accepted, index, term, RaftNode.None, null);

    internal static ProposalResult Refused(ProposalStatus status, long leader, string error) => new(status, 0, 0, leader, error);
}
