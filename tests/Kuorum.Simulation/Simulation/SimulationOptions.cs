using Kuorum.Raft;

namespace Kuorum.Simulation.Simulation;

/// <summary>A rule deliberately broken, to show the simulation catches it.</summary>
public enum InjectedBug
{
    None,

    /// <summary>The leader commits entries of earlier terms by counting replicas (Raft Figure 8).</summary>
    CommitEarlierTermsByCounting,

    /// <summary>Storage acknowledges the vote as durable but never writes it: a restarted node can vote twice in a term.</summary>
    VoteNotPersisted,

    /// <summary>A leader answers linearizable reads without confirming with a quorum that it still leads.</summary>
    ReadsWithoutQuorum,

    /// <summary>A leader counts its own entries towards a quorum before they are durable (its appends leave before its own write).</summary>
    CountUnpersistedOwnEntries,
}

/// <summary>The shape of one schedule, drawn from its seed so every schedule explores a different mix of faults.</summary>
public sealed record SimulationOptions
{
    public required ulong Seed { get; init; }
    public int Nodes { get; init; } = 3;

    /// <summary>Nodes 1..Founders bootstrap the cluster; the others start empty and may be added as learners, then promoted.</summary>
    public int Founders { get; init; } = 3;

    /// <summary>Per tick, the chance the leader is asked for a membership change (add learner, promote, remove — the leader too).</summary>
    public double MembershipChangeRate { get; init; }
    public int Clients { get; init; } = 3;
    public int Keys { get; init; } = 3;
    public int FaultTicks { get; init; } = 400;

    /// <summary>Liveness bound: after faults stop, everything must settle within this many ticks.</summary>
    public int SettleTicks { get; init; } = 300;

    public double DropRate { get; init; }
    public double DuplicateRate { get; init; }
    public int MaxDelay { get; init; } = 3;
    public double CrashRate { get; init; }

    /// <summary>Per tick, the chance the current leader crashes: leader churn is where commit rules break.</summary>
    public double LeaderCrashRate { get; init; }
    public double CrashDuringReadyRate { get; init; }

    /// <summary>
    /// The chance that persisting a Ready takes 1..<see cref="MaxDiskTicks"/> ticks instead of none: the node's
    /// immediate messages travel and their answers arrive while its own write is in flight, and a crash loses it.
    /// </summary>
    public double SlowDiskRate { get; init; }
    public int MaxDiskTicks { get; init; } = 1;
    public double RestartRate { get; init; } = 0.05;
    public double PartitionRate { get; init; }
    public double HealRate { get; init; } = 0.03;
    public int CompactEvery { get; init; } = 30;
    public int OperationTimeout { get; init; } = 60;
    public bool PreVote { get; init; } = true;
    public bool CheckQuorum { get; init; } = true;
    public InjectedBug Bug { get; init; }

    public static SimulationOptions ForSeed(ulong seed, InjectedBug bug = InjectedBug.None)
    {
        var random = new SeededRandom(seed ^ 0x5EED_0F_5C4ED111UL);
        var checkQuorum = random.Next(4) != 0;
        var nodes = random.Next(2) == 0 ? 3 : 5;
        var changes = nodes == 5 && random.Next(2) == 0;
        var options = new SimulationOptions
        {
            Seed = seed,
            Nodes = nodes,
            Founders = changes ? 3 : nodes,
            MembershipChangeRate = changes ? 0.01 + (random.NextDouble() * 0.04) : 0,
            Clients = 2 + random.Next(5),
            Keys = 1 + random.Next(4),
            DropRate = random.Next(3) == 0 ? 0 : random.NextDouble() * 0.2,
            DuplicateRate = random.NextDouble() * 0.05,
            MaxDelay = 1 + random.Next(6),
            CrashRate = random.NextDouble() * 0.02,
            LeaderCrashRate = random.Next(2) == 0 ? 0 : random.NextDouble() * 0.03,
            CrashDuringReadyRate = random.NextDouble() * 0.01,
            PartitionRate = random.NextDouble() * 0.03,
            CompactEvery = 10 + random.Next(60),
            PreVote = random.Next(4) != 0,
            CheckQuorum = checkQuorum,
            Bug = bug,
        };

        // Drawn last, so the draws above keep the shapes they had before these options existed.
        return options with
        {
            // A cluster founded by one voter grows by learners: a single voter elects itself in one step, before its
            // new term is durable, while it has learners to send to.
            Founders = changes && random.Next(3) == 0 ? 1 : options.Founders,
            SlowDiskRate = random.Next(3) == 0 ? 0 : random.NextDouble() * 0.5,
            MaxDiskTicks = 1 + random.Next(4),
        };
    }

    public override string ToString() =>
        $"nodes={Nodes} founders={Founders} changes={MembershipChangeRate:F3} clients={Clients} keys={Keys} drop={DropRate:F3} dup={DuplicateRate:F3} delay<={MaxDelay} " +
        $"crash={CrashRate:F3} leaderCrash={LeaderCrashRate:F3} crashInReady={CrashDuringReadyRate:F3} slowDisk={SlowDiskRate:F3}x{MaxDiskTicks} partition={PartitionRate:F3} compactEvery={CompactEvery} " +
        $"preVote={PreVote} checkQuorum={CheckQuorum}{(Bug == InjectedBug.None ? "" : $" bug={Bug}")}";
}
