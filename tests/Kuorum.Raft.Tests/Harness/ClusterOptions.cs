namespace Kuorum.Raft.Tests.Harness;

/// <summary>
/// The settings every test node runs with: ElectionTicks 10, HeartbeatTicks 1 and a seeded random source per node;
/// the rest are the production defaults unless a test overrides them.
/// </summary>
internal sealed record ClusterOptions
{
    public const int ElectionTicks = 10;

    /// <summary>The production defaults: pre-vote, check-quorum and an 8-tick lease.</summary>
    public static ClusterOptions Default { get; } = new();

    /// <summary>Raft as the paper describes it: no pre-vote, no check-quorum, no lease.</summary>
    public static ClusterOptions Paper { get; } = new() { PreVote = false, CheckQuorum = false, LeaseTicks = 0 };

    public ulong Seed { get; init; } = 1;

    public bool PreVote { get; init; } = true;

    public bool CheckQuorum { get; init; } = true;

    public int LeaseTicks { get; init; } = 8;

    public long MaxAppendBytes { get; init; } = 1 << 20;

    public int MaxInflightMessages { get; init; } = 256;

    public int SnapshotChunkBytes { get; init; } = 1 << 20;

    public long MaxPromotionLag { get; init; } = 1000;

    public RaftConfig ConfigFor(long id) => new()
    {
        Id = id,
        ElectionTicks = ElectionTicks,
        HeartbeatTicks = 1,
        PreVote = PreVote,
        CheckQuorum = CheckQuorum,
        LeaseTicks = LeaseTicks,
        MaxAppendBytes = MaxAppendBytes,
        MaxInflightMessages = MaxInflightMessages,
        SnapshotChunkBytes = SnapshotChunkBytes,
        MaxPromotionLag = MaxPromotionLag,
        Random = new SeededRandom((Seed * 1_000_003UL) + (ulong)id),
    };
}
