namespace Kuorum.Raft;

/// <summary>How a leader replicates to one follower.</summary>
public enum ReplicationState
{
    /// <summary>Looking for the point where the logs agree: one Append in flight at a time.</summary>
    Probe,

    /// <summary>Logs agree: Appends are pipelined up to the in-flight limits.</summary>
    Replicate,

    /// <summary>The follower needs entries the leader compacted: sending the snapshot in chunks.</summary>
    Snapshot,
}

/// <summary>The leader's view of one member's log.</summary>
internal sealed class Progress(long next, int maxInflightMessages, long maxInflightBytes)
{
    public long Match { get; set; }

    public long Next { get; set; } = next;

    public ReplicationState State { get; private set; } = ReplicationState.Probe;

    /// <summary>Probe state: an Append is out and unanswered, so wait (until a heartbeat response) before sending another.</summary>
    public bool ProbeSent { get; set; }

    /// <summary>Heard from this member since the last check-quorum round.</summary>
    public bool RecentActive { get; set; }

    /// <summary>Send tick of the latest heartbeat round this member acknowledged (for the leader lease).</summary>
    public long LastAckedRoundTick { get; set; } = long.MinValue;

    /// <summary>Latest heartbeat round this member acknowledged.</summary>
    public long LastAckedRound { get; set; }

    public Inflights Inflights { get; } = new(maxInflightMessages, maxInflightBytes);

    /// <summary>Snapshot state: index of the snapshot being sent.</summary>
    public long PendingSnapshot { get; private set; }

    /// <summary>Snapshot state: bytes the follower confirmed.</summary>
    public long SnapshotOffset { get; set; }

    public bool IsPaused => State switch
    {
        ReplicationState.Probe => ProbeSent,
        ReplicationState.Replicate => Inflights.IsFull,
        _ => true,
    };

    public void BecomeProbe()
    {
        if (State == ReplicationState.Snapshot)
        {
            Next = Math.Max(Match + 1, PendingSnapshot + 1);
            PendingSnapshot = 0;
        }
        else
        {
            Next = Match + 1;
        }

        Reset(ReplicationState.Probe);
    }

    public void BecomeReplicate()
    {
        Next = Match + 1;
        Reset(ReplicationState.Replicate);
    }

    public void BecomeSnapshot(long snapshotIndex)
    {
        Reset(ReplicationState.Snapshot);
        PendingSnapshot = snapshotIndex;
        SnapshotOffset = 0;
    }

    /// <summary>Records an acknowledged index; returns true when it moved Match forward.</summary>
    public bool MaybeUpdate(long index)
    {
        var updated = false;
        if (Match < index)
        {
            Match = index;
            updated = true;
            ProbeSent = false;
        }

        Next = Math.Max(Next, index + 1);
        return updated;
    }

    /// <summary>
    /// Handles a rejected Append at <paramref name="rejected"/>, where the follower hints the logs may agree at
    /// <paramref name="matchHint"/>. Returns false when the rejection is stale.
    /// </summary>
    public bool MaybeDecreaseTo(long rejected, long matchHint)
    {
        if (State == ReplicationState.Replicate)
        {
            if (rejected <= Match)
            {
                return false;
            }

            Next = Match + 1;
            return true;
        }

        if (Next - 1 != rejected)
        {
            return false;
        }

        Next = Math.Max(Math.Min(rejected, matchHint + 1), Match + 1);
        ProbeSent = false;
        return true;
    }

    /// <summary>Records an Append sent with entries up to <paramref name="lastIndex"/>.</summary>
    public void SentEntries(long lastIndex, long bytes)
    {
        if (State == ReplicationState.Replicate)
        {
            Next = lastIndex + 1;
            Inflights.Add(lastIndex, bytes);
        }
        else
        {
            ProbeSent = true;
        }
    }

    private void Reset(ReplicationState state)
    {
        State = state;
        ProbeSent = false;
        Inflights.Reset();
    }

    public override string ToString() => $"{State} match={Match} next={Next}{(IsPaused ? " paused" : "")}";
}
