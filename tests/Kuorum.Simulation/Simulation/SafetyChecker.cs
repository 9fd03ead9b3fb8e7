using Kuorum.Raft;

namespace Kuorum.Simulation.Simulation;

/// <summary>
/// Checks the properties of Raft's Figure 3 as the simulation runs: election safety (one leader per term),
/// log matching, leader completeness and state machine safety.
/// </summary>
public sealed class SafetyChecker
{
    private readonly Dictionary<long, long> _leaderOfTerm = [];
    private readonly Dictionary<(long Index, long Term), (ulong Hash, long PreviousTerm)> _entries = [];
    private readonly Dictionary<long, (long Term, ulong Hash)> _applied = [];
    private readonly Dictionary<long, (long Term, ulong Hash, long CommitTerm)> _committed = [];
    private readonly Dictionary<(long Node, long Term), long> _observedCommit = [];
    private readonly HashSet<(long Node, long Term)> _completenessChecked = [];

    public int AppliedCount => _applied.Count;

    public static ulong Hash(Entry entry)
    {
        var hash = 14695981039346656037UL;
        hash = (hash ^ (byte)entry.Type) * 1099511628211UL;
        foreach (var b in entry.Data.Span)
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return hash;
    }

    public void ObserveRole(long node, RaftRole role, long term)
    {
        if (role != RaftRole.Leader)
        {
            return;
        }

        if (_leaderOfTerm.TryGetValue(term, out var leader) && leader != node)
        {
            throw new SafetyViolationException($"election safety: nodes {leader} and {node} are both leader of term {term}");
        }

        _leaderOfTerm[term] = node;
    }

    /// <summary>Log matching, checked inductively: an (index, term) pair always names the same entry after the same predecessor term.</summary>
    public void ObserveLog(long node, SimDisk disk, IReadOnlyList<Entry> written)
    {
        foreach (var entry in written)
        {
            var previousTerm = disk.TermAt(entry.Index - 1)
                ?? throw new SafetyViolationException($"log matching: node {node} holds entry {entry.Index} without its predecessor");
            var seen = (Hash(entry), previousTerm);
            if (_entries.TryGetValue((entry.Index, entry.Term), out var known) && known != seen)
            {
                throw new SafetyViolationException(
                    $"log matching: node {node} holds a different entry at {entry.Index}/{entry.Term} (previous term {previousTerm} vs {known.PreviousTerm})");
            }

            _entries[(entry.Index, entry.Term)] = seen;
        }
    }

    /// <summary>State machine safety: no two nodes apply different entries at one index.</summary>
    public void ObserveApplied(long node, Entry entry)
    {
        var applied = (entry.Term, Hash(entry));
        if (_applied.TryGetValue(entry.Index, out var known) && known != applied)
        {
            throw new SafetyViolationException(
                $"state machine safety: node {node} applied {entry.Index}/{entry.Term}, another node applied {entry.Index}/{known.Term} there");
        }

        _applied[entry.Index] = applied;
    }

    /// <summary>Records what a leader committed, and in which term it did (its own).</summary>
    public void ObserveLeaderCommit(long node, long term, long commit, SimDisk disk)
    {
        var from = Math.Max(_observedCommit.GetValueOrDefault((node, term)), disk.Snapshot.Index);
        for (var index = from + 1; index <= commit; index++)
        {
            var entry = disk.EntryAt(index)
                ?? throw new SafetyViolationException($"leader {node} of term {term} committed {index} but does not hold it durably");
            var committed = (entry.Term, Hash(entry));
            if (_committed.TryGetValue(index, out var known))
            {
                if ((known.Term, known.Hash) != committed)
                {
                    throw new SafetyViolationException(
                        $"commit safety: leader {node} of term {term} committed {index}/{entry.Term}, but {index}/{known.Term} was committed in term {known.CommitTerm}");
                }
            }
            else
            {
                _committed[index] = (entry.Term, committed.Item2, term);
            }
        }

        _observedCommit[(node, term)] = Math.Max(from, commit);
    }

    /// <summary>Leader completeness: a new leader's log holds every entry committed in an earlier term (beyond its snapshot).</summary>
    public void CheckLeaderCompleteness(long node, long term, SimDisk disk)
    {
        if (!_completenessChecked.Add((node, term)))
        {
            return;
        }

        foreach (var (index, (entryTerm, hash, commitTerm)) in _committed)
        {
            if (index <= disk.Snapshot.Index || commitTerm >= term)
            {
                continue;
            }

            var entry = disk.EntryAt(index);
            if (entry is null || entry.Term != entryTerm || Hash(entry) != hash)
            {
                throw new SafetyViolationException(
                    $"leader completeness: node {node}, leader of term {term}, lacks entry {index}/{entryTerm} committed in term {commitTerm} (it holds {entry?.ToString() ?? "nothing"})");
            }
        }
    }

    /// <summary>The committed entry at <paramref name="index"/>, if any node applied it.</summary>
    public (long Term, ulong Hash)? AppliedAt(long index) => _applied.TryGetValue(index, out var a) ? a : null;
}
