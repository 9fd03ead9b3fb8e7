namespace Kuorum.Raft.Tests.Harness;

/// <summary>
/// N nodes on a deterministic in-memory network (after etcd-io/raft's paper tests and tikv/raft-rs's harness).
/// Messages travel in one FIFO queue and are filtered when delivered, so a cut or a drop rule also loses the
/// messages already in flight. Nothing moves unless a test delivers or ticks; every loop is bounded.
/// </summary>
internal sealed class TestCluster
{
    private const int MaxDeliveries = 100_000;

    private readonly SortedDictionary<long, TestNode> _nodes = [];
    private readonly Queue<Message> _inFlight = new();
    private readonly HashSet<(long, long)> _cuts = [];
    private readonly HashSet<long> _isolated = [];
    private readonly List<DropRule> _dropRules = [];

    private TestCluster(ClusterOptions options) => Options = options;

    public ClusterOptions Options { get; }

    /// <summary>Every message a node sent, in order.</summary>
    public List<Message> Sent { get; } = [];

    /// <summary>Messages sent and not yet delivered or lost, oldest first.</summary>
    public IEnumerable<Message> InFlight => _inFlight;

    /// <summary>Every message that reached its destination, in order.</summary>
    public List<Message> Delivered { get; } = [];

    /// <summary>Every message the network lost.</summary>
    public List<Message> Dropped { get; } = [];

    public IEnumerable<long> Ids => _nodes.Keys;

    public RaftNode this[long id] => _nodes[id].Raft;

    /// <summary>The live leader of the highest term, or null. Two live leaders of one term fail the test (election safety).</summary>
    public RaftNode? Leader
    {
        get
        {
            var leaders = _nodes.Values.Where(n => n.IsUp && n.Raft.Role == RaftRole.Leader).Select(n => n.Raft).ToList();
            if (leaders.GroupBy(l => l.Term).FirstOrDefault(g => g.Count() > 1) is { } twins)
            {
                throw new InvalidOperationException($"election safety violated: nodes {string.Join(",", twins.Select(l => l.Id))} all lead term {twins.Key}");
            }

            return leaders.MaxBy(l => l.Term);
        }
    }

    /// <summary>A new cluster whose founding voters are 1..<paramref name="size"/>.</summary>
    public static TestCluster Bootstrap(int size, ClusterOptions? options = null)
    {
        var cluster = new TestCluster(options ?? ClusterOptions.Default);
        var voters = Enumerable.Range(1, size).Select(i => (long)i).ToList();
        foreach (var id in voters)
        {
            cluster._nodes[id] = TestNode.Bootstrap(cluster.Options.ConfigFor(id), voters);
        }

        cluster.HandleReadies();
        return cluster;
    }

    /// <summary>A cluster restarted from the given persisted states (see <see cref="Build.State"/>).</summary>
    public static TestCluster FromStates(ClusterOptions options, IReadOnlyDictionary<long, RaftStorageState> states)
    {
        var cluster = new TestCluster(options);
        foreach (var (id, state) in states)
        {
            cluster._nodes[id] = new TestNode(options.ConfigFor(id), state);
        }

        return cluster;
    }

    public TestNode Node(long id) => _nodes[id];

    public IReadOnlyList<Entry> Applied(long id) => _nodes[id].Applied;

    /// <summary>Starts a node with empty storage, as a new member that will learn everything from the leader.</summary>
    public TestNode AddEmptyNode(long id)
    {
        var node = new TestNode(Options.ConfigFor(id), RaftStorageState.Empty);
        _nodes.Add(id, node);
        return node;
    }

    // ---- Network faults ----

    public void Cut(long a, long b)
    {
        _cuts.Add((a, b));
        _cuts.Add((b, a));
    }

    public void Isolate(long id) => _isolated.Add(id);

    /// <summary>Heals every cut and isolation and removes every drop rule.</summary>
    public void Recover()
    {
        _cuts.Clear();
        _isolated.Clear();
        _dropRules.Clear();
    }

    public void Drop(MessageType type) => DropWhere(m => m.Type == type);

    public void DropWhere(Func<Message, bool> predicate) => _dropRules.Add(new DropRule(predicate, Once: false));

    /// <summary>Loses only the next message that matches.</summary>
    public void DropNext(Func<Message, bool> predicate) => _dropRules.Add(new DropRule(predicate, Once: true));

    public void Crash(long id) => _nodes[id].Crash();

    public void Restart(long id)
    {
        _nodes[id].Restart();
        HandleReadies();
    }

    /// <summary>
    /// Takes <paramref name="id"/>'s next Ready and puts its immediate messages on the wire; its disk write stays in
    /// flight (the node is still stepped, and takes no other Ready) until <see cref="FinishReady"/>.
    /// </summary>
    public Ready StartReady(long id)
    {
        var node = _nodes[id];
        Enqueue(node.StartReady());
        return node.Persisting!;
    }

    /// <summary>Completes the Ready <see cref="StartReady"/> took: persisted, its other messages sent, applied, advanced.</summary>
    public void FinishReady(long id) => Enqueue(_nodes[id].FinishReady());

    /// <summary>The node sends its next Ready's immediate messages and crashes before anything of that Ready is durable.</summary>
    public Ready CrashAfterImmediateMessages(long id)
    {
        var ready = StartReady(id);
        Crash(id);
        return ready;
    }

    /// <summary>Puts messages on the wire as if a node had sent them (for drivers a test plays by hand).</summary>
    public void Inject(IEnumerable<Message> messages) => Enqueue([.. messages]);

    // ---- Time and delivery ----

    /// <summary>Runs every live node's Ready loop and puts what they send on the wire.</summary>
    public void HandleReadies()
    {
        foreach (var node in _nodes.Values.Where(n => n.IsUp))
        {
            Enqueue(node.HandleReady());
        }
    }

    /// <summary>Delivers (or loses) the oldest message in flight; false when none is left.</summary>
    public bool DeliverOne()
    {
        HandleReadies();
        if (!_inFlight.TryDequeue(out var m))
        {
            return false;
        }

        if (IsLost(m))
        {
            Dropped.Add(m);
            return true;
        }

        Delivered.Add(m);
        Enqueue(_nodes[m.To].Step(m));
        return true;
    }

    /// <summary>Delivers until the network is quiet; returns how many messages moved.</summary>
    public int DeliverAll()
    {
        var count = 0;
        while (DeliverOne())
        {
            if (++count > MaxDeliveries)
            {
                throw new InvalidOperationException($"the network did not quiesce after {MaxDeliveries} messages");
            }
        }

        return count;
    }

    /// <summary>Delivers one message at a time until <paramref name="condition"/> holds (checked after each delivery).</summary>
    public void DeliverUntil(Func<bool> condition)
    {
        for (var count = 0; !condition(); count++)
        {
            if (count > MaxDeliveries || !DeliverOne())
            {
                throw new InvalidOperationException("the network went quiet before the condition held");
            }
        }
    }

    /// <summary>Each round: every live node ticks once, then the network is delivered until quiet.</summary>
    public void TickAll(int ticks = 1)
    {
        for (var i = 0; i < ticks; i++)
        {
            foreach (var node in _nodes.Values.Where(n => n.IsUp))
            {
                node.Tick();
            }

            DeliverAll();
        }
    }

    /// <summary>Each round: only <paramref name="id"/> ticks, then the network is delivered until quiet.</summary>
    public void Tick(long id, int ticks = 1)
    {
        for (var i = 0; i < ticks; i++)
        {
            _nodes[id].Tick();
            DeliverAll();
        }
    }

    /// <summary>
    /// Makes <paramref name="id"/> the leader: it campaigns (or the current leader hands over to it), and time
    /// passes until that succeeds, since a node that started or heard a leader recently refuses votes for an
    /// election timeout.
    /// </summary>
    public RaftNode Elect(long id)
    {
        DeliverAll();
        for (var attempt = 0; attempt < 10 * ClusterOptions.ElectionTicks; attempt++)
        {
            if (Leader is { } leader && leader.Id == id)
            {
                return leader;
            }

            if (Leader is { } other)
            {
                other.TransferLeadership(id);
            }
            else
            {
                this[id].Campaign();
            }

            DeliverAll();
            if (Leader?.Id != id)
            {
                TickAll();
            }
        }

        throw new InvalidOperationException($"node {id} could not be elected");
    }

    public ProposalResult Propose(long id, string text) => this[id].Propose(Build.Bytes(text));

    public SnapshotMetadata Compact(long id, long index, byte[] data) => _nodes[id].Compact(index, data);

    /// <summary>State machine safety: describes two nodes that applied different entries at one index, or null.</summary>
    public string? FindAppliedConflict()
    {
        var byIndex = new Dictionary<long, (long Node, Entry Entry)>();
        foreach (var node in _nodes.Values)
        {
            foreach (var entry in node.Applied)
            {
                if (!byIndex.TryAdd(entry.Index, (node.Id, entry)) && !byIndex[entry.Index].Entry.Equals(entry))
                {
                    return $"at index {entry.Index} node {byIndex[entry.Index].Node} applied {byIndex[entry.Index].Entry} but node {node.Id} applied {entry}";
                }
            }
        }

        return null;
    }

    private void Enqueue(List<Message> messages)
    {
        foreach (var m in messages)
        {
            Sent.Add(m);
            _inFlight.Enqueue(m);
        }
    }

    private bool IsLost(Message m)
    {
        if (!_nodes.TryGetValue(m.To, out var target) || !target.IsUp
            || _isolated.Contains(m.From) || _isolated.Contains(m.To) || _cuts.Contains((m.From, m.To)))
        {
            return true;
        }

        var rule = _dropRules.FirstOrDefault(r => r.Matches(m));
        if (rule is { Once: true })
        {
            _dropRules.Remove(rule);
        }

        return rule is not null;
    }

    private sealed record DropRule(Func<Message, bool> Matches, bool Once);
}

internal static class RaftNodeExtensions
{
    /// <summary>The leader's view of member <paramref name="id"/>.</summary>
    public static MemberProgress ProgressOf(this RaftNode leader, long id) => leader.Status().Progress.Single(p => p.Id == id);
}
