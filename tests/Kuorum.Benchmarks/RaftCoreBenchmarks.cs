using BenchmarkDotNet.Attributes;
using Kuorum.Raft;
using Kuorum.Simulation.Simulation;

namespace Kuorum.Benchmarks;

/// <summary>The Raft core alone, with no I/O: proposals through a 3-node in-memory cluster, and simulated schedules.</summary>
[MemoryDiagnoser]
public class RaftCoreBenchmarks
{
    public const int Proposals = 50_000;

    private readonly byte[] _payload = new byte[128];
    private InMemoryCluster _cluster = null!;

    [Params(1, 64)]
    public int BatchSize { get; set; }

    [IterationSetup(Target = nameof(ProposeAndCommitOnThreeNodes))]
    public void NewCluster() => _cluster = new InMemoryCluster(3, 7);

    /// <summary>Proposes 50,000 entries of 128 bytes and runs until every node applied them.</summary>
    [Benchmark(OperationsPerInvoke = Proposals)]
    public long ProposeAndCommitOnThreeNodes()
    {
        var target = _cluster.Leader.LastIndex + Proposals;
        var batch = Enumerable.Repeat<ReadOnlyMemory<byte>>(_payload, BatchSize).ToArray();
        for (var sent = 0; sent < Proposals; sent += BatchSize)
        {
            var result = _cluster.Leader.ProposeBatch(batch);
            if (!result.IsAccepted)
            {
                throw new InvalidOperationException(result.Error);
            }

            _cluster.Pump();
        }

        if (_cluster.AppliedOnAll < target)
        {
            throw new InvalidOperationException($"applied {_cluster.AppliedOnAll}, expected {target}");
        }

        return _cluster.AppliedOnAll;
    }
}

/// <summary>Seeded simulation schedules (faults, clients, safety and linearizability checks) per second.</summary>
[MemoryDiagnoser]
public class SimulationBenchmarks
{
    private ulong _seed;

    [Benchmark]
    public bool RunOneSchedule() => new Simulator(SimulationOptions.ForSeed(++_seed)).Run().Passed;
}
