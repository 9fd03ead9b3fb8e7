namespace Kuorum.Client;

/// <summary>How a read is served.</summary>
public enum ReadConsistency
{
    /// <summary>Linearizable: the agent confirms with a quorum that it has every acknowledged write. The safe default.</summary>
    Linearizable = 0,

    /// <summary>Linearizable under the leader's lease, without a quorum round; relies on bounded clock drift.</summary>
    Lease = 1,

    /// <summary>Whatever the local agent has applied: fastest, possibly behind the cluster.</summary>
    Stale = 2,
}
