namespace Kuorum.Raft.Tests.Harness;

/// <summary>
/// Checks the properties of Figure 3 (Election Safety, Log Matching, Leader Completeness, State Machine Safety;
/// Leader Append-Only is checked by <see cref="TestNode"/> on every Ready) over a cluster's durable state, and
/// that every read index covers every entry committed before the read was requested.
/// </summary>
internal sealed class SafetyChecker(TestCluster cluster)
{
    // Index → the committed entry, and the term of the first node seen holding it as committed (at least the
    // term it was committed in).
    private readonly Dictionary<long, (Entry Entry, long SeenInTerm)> _committed = [];
    private readonly Dictionary<long, long> _recordedCommit = [];
    private readonly List<(long Node, long Context, long MustCover)> _reads = [];

    public int ReadsChecked { get; private set; }

    public void ExpectRead(long node, long context) =>
        _reads.Add((node, context, cluster.Ids.Max(id => cluster.Node(id).Storage.HardState.Commit)));

    public void Check()
    {
        CheckElectionSafety();
        CheckLogMatching();
        RecordCommitted();
        CheckLeaderCompleteness();
        CheckStateMachineSafety();
        CheckReads();
    }

    private static void Fail(string property, string detail) => throw new InvalidOperationException($"{property} violated: {detail}");

    private void CheckElectionSafety()
    {
        var leaders = new Dictionary<long, long>();
        foreach (var id in cluster.Ids)
        {
            foreach (var term in cluster.Node(id).LedTerms)
            {
                if (!leaders.TryAdd(term, id) && leaders[term] != id)
                {
                    Fail("Election Safety", $"nodes {leaders[term]} and {id} both led term {term}");
                }
            }
        }
    }

    private void CheckLogMatching()
    {
        var ids = cluster.Ids.ToList();
        for (var a = 0; a < ids.Count; a++)
        {
            for (var b = a + 1; b < ids.Count; b++)
            {
                var x = cluster.Node(ids[a]).Storage;
                var y = cluster.Node(ids[b]).Storage;
                var low = Math.Max(x.Snapshot.Index, y.Snapshot.Index) + 1;
                var matched = false;
                for (var i = Math.Min(x.LastIndex, y.LastIndex); i >= low; i--)
                {
                    var (ex, ey) = (x.EntryAt(i)!, y.EntryAt(i)!);
                    if (ex.Term == ey.Term)
                    {
                        matched = true;
                    }

                    if (matched && !ex.Equals(ey))
                    {
                        Fail("Log Matching", $"nodes {ids[a]} and {ids[b]} agree on a later entry but hold {ex} and {ey}");
                    }
                }
            }
        }
    }

    private void RecordCommitted()
    {
        foreach (var id in cluster.Ids)
        {
            var storage = cluster.Node(id).Storage;
            var from = Math.Max(storage.Snapshot.Index, _recordedCommit.GetValueOrDefault(id)) + 1;
            for (var i = from; i <= storage.HardState.Commit; i++)
            {
                var entry = storage.EntryAt(i)!;
                if (_committed.TryGetValue(i, out var known) && !known.Entry.Equals(entry))
                {
                    Fail("State Machine Safety", $"index {i} committed as {known.Entry} and as {entry} (node {id})");
                }

                _committed.TryAdd(i, (entry, storage.HardState.Term));
            }

            _recordedCommit[id] = Math.Max(_recordedCommit.GetValueOrDefault(id), storage.HardState.Commit);
        }
    }

    private void CheckLeaderCompleteness()
    {
        foreach (var id in cluster.Ids.Where(id => cluster.Node(id).IsUp && cluster[id].Role == RaftRole.Leader))
        {
            var leader = cluster[id];
            var storage = cluster.Node(id).Storage;
            foreach (var (index, (entry, seenInTerm)) in _committed)
            {
                if (seenInTerm < leader.Term && index > storage.Snapshot.Index && !entry.Equals(storage.EntryAt(index)))
                {
                    Fail("Leader Completeness", $"leader {id} of term {leader.Term} lacks committed {entry}");
                }
            }
        }
    }

    private void CheckStateMachineSafety()
    {
        if (cluster.FindAppliedConflict() is { } conflict)
        {
            Fail("State Machine Safety", conflict);
        }

        foreach (var id in cluster.Ids)
        {
            foreach (var entry in cluster.Applied(id))
            {
                if (_committed.TryGetValue(entry.Index, out var known) && !known.Entry.Equals(entry))
                {
                    Fail("State Machine Safety", $"node {id} applied {entry} but {known.Entry} is committed");
                }
            }
        }
    }

    private void CheckReads()
    {
        for (var i = _reads.Count - 1; i >= 0; i--)
        {
            var (node, context, mustCover) = _reads[i];
            if (cluster.Node(node).ReadStates.FirstOrDefault(r => r.Context == context) is { Context: not 0 } answer)
            {
                if (answer.Index < mustCover)
                {
                    Fail("Linearizable reads", $"read {context} on node {node} got index {answer.Index}, but {mustCover} was committed before it was asked");
                }

                ReadsChecked++;
                _reads.RemoveAt(i);
            }
        }
    }
}
