namespace Kuorum.Raft;

/// <summary>Settings of one Raft node. Times are in ticks of the caller's clock.</summary>
public sealed class RaftConfig
{
    /// <summary>This node's id; positive.</summary>
    public required long Id { get; init; }

    /// <summary>Ticks without hearing from a leader before a follower campaigns; the actual timeout is random in [ElectionTicks, 2×ElectionTicks).</summary>
    public int ElectionTicks { get; init; } = 10;

    /// <summary>Ticks between a leader's heartbeats.</summary>
    public int HeartbeatTicks { get; init; } = 1;

    /// <summary>Ask for pre-votes before raising the term, so a partitioned node cannot disrupt a healthy leader when it returns.</summary>
    public bool PreVote { get; init; } = true;

    /// <summary>A leader that has not heard from a quorum within an election timeout steps down; followers that heard from a leader recently refuse votes.</summary>
    public bool CheckQuorum { get; init; } = true;

    /// <summary>How long a leader may serve lease reads after a quorum confirmed it; must be below <see cref="ElectionTicks"/>. 0 disables lease reads.</summary>
    public int LeaseTicks { get; init; } = 8;

    /// <summary>Upper bound of entry bytes in one Append message (at least one entry is always sent).</summary>
    public long MaxAppendBytes { get; init; } = 1 << 20;

    /// <summary>Append messages a leader keeps in flight to one follower.</summary>
    public int MaxInflightMessages { get; init; } = 256;

    /// <summary>Entry bytes a leader keeps in flight to one follower.</summary>
    public long MaxInflightBytes { get; init; } = 32L << 20;

    /// <summary>Bytes of uncommitted entries a leader accepts before refusing proposals.</summary>
    public long MaxUncommittedBytes { get; init; } = 64L << 20;

    /// <summary>Bytes of committed entries handed to the application in one Ready (at least one entry).</summary>
    public long MaxApplyBytesPerReady { get; init; } = 64L << 20;

    /// <summary>A learner is caught up enough to promote when it replicates and lags the commit index by at most this many entries.</summary>
    public long MaxPromotionLag { get; init; } = 1000;

    /// <summary>Bytes per InstallSnapshot chunk.</summary>
    public int SnapshotChunkBytes { get; init; } = 1 << 20;

    /// <summary>The seeded source of randomness for election timeouts.</summary>
    public required IRandomSource Random { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of bounds and what is allowed.</summary>
    public void Validate()
    {
        Require(Id > 0, nameof(Id), $"must be positive; got {Id}");
        Require(HeartbeatTicks >= 1, nameof(HeartbeatTicks), $"must be at least 1; got {HeartbeatTicks}");
        Require(ElectionTicks > 2 * HeartbeatTicks, nameof(ElectionTicks),
            $"must exceed twice {nameof(HeartbeatTicks)} ({2 * HeartbeatTicks}) so followers hear several heartbeats per timeout; got {ElectionTicks}");
        Require(LeaseTicks >= 0 && LeaseTicks < ElectionTicks, nameof(LeaseTicks),
            $"must be in 0..{ElectionTicks - 1} (below {nameof(ElectionTicks)}, or a new leader could be elected while the old lease holds); got {LeaseTicks}");
        Require(LeaseTicks == 0 || CheckQuorum, nameof(LeaseTicks),
            $"lease reads need {nameof(CheckQuorum)}; set {nameof(LeaseTicks)} to 0 or enable {nameof(CheckQuorum)}");
        Require(MaxAppendBytes >= 1, nameof(MaxAppendBytes), $"must be positive; got {MaxAppendBytes}");
        Require(MaxInflightMessages >= 1, nameof(MaxInflightMessages), $"must be positive; got {MaxInflightMessages}");
        Require(MaxInflightBytes >= MaxAppendBytes, nameof(MaxInflightBytes),
            $"must be at least {nameof(MaxAppendBytes)} ({MaxAppendBytes}); got {MaxInflightBytes}");
        Require(MaxUncommittedBytes >= 1, nameof(MaxUncommittedBytes), $"must be positive; got {MaxUncommittedBytes}");
        Require(MaxApplyBytesPerReady >= 1, nameof(MaxApplyBytesPerReady), $"must be positive; got {MaxApplyBytesPerReady}");
        Require(MaxPromotionLag >= 0, nameof(MaxPromotionLag), $"must be zero or more; got {MaxPromotionLag}");
        Require(SnapshotChunkBytes >= 1, nameof(SnapshotChunkBytes), $"must be positive; got {SnapshotChunkBytes}");
        Require(Random is not null, nameof(Random), "must be set (a seeded IRandomSource)");
    }

    private static void Require(bool condition, string setting, string message)
    {
        if (!condition)
        {
            throw new ArgumentException($"Raft setting {setting} {message}", setting);
        }
    }
}
