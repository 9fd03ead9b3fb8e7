using Kuorum.Raft;

namespace Kuorum.Simulation.Simulation;

/// <summary>One simulated machine: its disk survives crashes; the Raft node and state machine do not.</summary>
public sealed class SimNode(long id)
{
    public long Id { get; } = id;

    public SimDisk Disk { get; } = new();

    public RaftNode? Raft { get; set; }

    public KvStateMachine? Kv { get; set; }

    /// <summary>A Ready whose immediate messages left and whose disk write is still in flight (a slow disk), or null.</summary>
    public Ready? Persisting { get; set; }

    /// <summary>The tick at which <see cref="Persisting"/> becomes durable.</summary>
    public long PersistedAt { get; set; }

    /// <summary>Where the node crashes while finishing <see cref="Persisting"/>, if anywhere.</summary>
    internal Simulator.CrashPoint PersistingCrash { get; set; }

    public bool IsAlive => Raft is not null;

    public RaftNode AliveRaft => Raft ?? throw new InvalidOperationException($"node {Id} is down");

    public KvStateMachine AliveKv => Kv ?? throw new InvalidOperationException($"node {Id} is down");
}
