using Kuorum.Raft;

namespace Kuorum.Benchmarks;

/// <summary>
/// A cluster of Raft cores wired together in memory, with the driver loop reduced to its obligations
/// (send the immediate messages, persist, send the others, apply, advance) and no I/O: it measures the protocol code alone.
/// </summary>
public sealed class InMemoryCluster
{
    private readonly RaftNode[] _nodes;
    private readonly Queue<Message> _wire = new();

    public InMemoryCluster(int size, ulong seed)
    {
        var voters = Enumerable.Range(1, size).Select(i => (long)i).ToList();
        var random = new SeededRandom(seed);
        _nodes = voters.Select(id => RaftNode.Bootstrap(new RaftConfig { Id = id, Random = new SeededRandom(random.NextUInt64()) }, voters)).ToArray();
        _nodes[0].Campaign();
        Pump();
        if (Leader.Role != RaftRole.Leader)
        {
            throw new InvalidOperationException("no leader after the first campaign");
        }
    }

    public RaftNode Leader => _nodes[0];

    public long AppliedOnAll => _nodes.Min(n => n.AppliedIndex);

    /// <summary>Processes every Ready and delivers every message until the cluster is quiet.</summary>
    public void Pump()
    {
        bool busy;
        do
        {
            busy = false;
            foreach (var node in _nodes)
            {
                while (node.HasReady)
                {
                    busy = true;
                    var ready = node.GetReady();
                    foreach (var message in ready.ImmediateMessages)
                    {
                        _wire.Enqueue(message);
                    }

                    foreach (var message in ready.Messages)
                    {
                        _wire.Enqueue(message);
                    }

                    node.Advance(ready);
                }
            }

            while (_wire.TryDequeue(out var message))
            {
                busy = true;
                _nodes[message.To - 1].Step(message);
            }
        }
        while (busy);
    }
}
