using Kuorum.Raft;

namespace Kuorum.Simulation.Simulation;

/// <summary>One simulated machine: its disk survives crashes; the Raft node and state machine do not.</summary>
public sealed class SimNode(long id)
{
    public long Id { get; } = id;

    public SimDisk Disk { get; } = new();

    public RaftNode? Raft { get; set; }

    public KvStateMachine? Kv { get; set; }

    public bool IsAlive => Raft is not null;

    public RaftNode AliveRaft => Raft ?? throw new InvalidOperationException($"node {Id} is down");

    public KvStateMachine AliveKv => Kv ?? throw new InvalidOperationException($"node {Id} is down");
}
