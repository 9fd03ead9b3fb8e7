using Kuorum.Raft;

namespace Kuorum.Storage.CrashChild;

/// <summary>
/// A deterministic workload for the journal: what step <c>n</c> of seed <c>s</c> writes is a pure function of
/// (s, n), so the crash test can compute exactly what the journal must hold after any durable step.
/// Steps append batches of entries, sometimes replace a suffix (as a follower with a conflicting log does) and
/// every so often compact the prefix. The step number is stored as the hard state's commit index.
/// </summary>
public static class JournalWorkload
{
    public static readonly Membership Members = new([1, 2, 3]);

    /// <summary>One step's writes.</summary>
    public sealed record Step(long Number, IReadOnlyList<Entry> Entries, HardState HardState, SnapshotMetadata? CompactTo);

    /// <summary>The journal's content after a step: snapshot point and live entries.</summary>
    public sealed class State
    {
        public long SnapshotIndex { get; set; }
        public long SnapshotTerm { get; set; }
        public List<Entry> Entries { get; } = [];
        public long LastIndex => SnapshotIndex + Entries.Count;
    }

    /// <summary>Computes step <paramref name="number"/> from the state before it, and applies it to that state.</summary>
    public static Step Next(ulong seed, long number, State state, bool compact = true)
    {
        var random = new SeededRandom((seed * 1_000_003UL) + (ulong)number);
        var first = state.LastIndex + 1;
        if (state.Entries.Count > 3 && random.Next(4) == 0)
        {
            // Replace up to three entries at the tail, never reaching into the compacted prefix.
            first = state.LastIndex - random.Next(3);
        }

        state.Entries.RemoveRange((int)(first - state.SnapshotIndex - 1), (int)(state.LastIndex - first + 1));
        var entries = new List<Entry>();
        var count = 1 + random.Next(8);
        for (var i = 0; i < count; i++)
        {
            var data = new byte[1 + random.Next(300)];
            for (var b = 0; b < data.Length; b++)
            {
                data[b] = (byte)random.Next(256);
            }

            entries.Add(new Entry(first + i, number, EntryType.Normal, data));
        }

        state.Entries.AddRange(entries);
        SnapshotMetadata? compactTo = null;
        if (compact && number % 16 == 0 && state.Entries.Count > 12)
        {
            var index = state.LastIndex - 6;
            var term = state.Entries[(int)(index - state.SnapshotIndex - 1)].Term;
            state.Entries.RemoveRange(0, (int)(index - state.SnapshotIndex));
            state.SnapshotIndex = index;
            state.SnapshotTerm = term;
            compactTo = new SnapshotMetadata(index, term, Members);
        }

        return new Step(number, entries, new HardState(number, 1, number), compactTo);
    }

    /// <summary>
    /// The state after <paramref name="steps"/> steps. A step's compaction is a second commit after its append, so a
    /// crash can leave the last step durable without it: <paramref name="lastCompacted"/> false gives that state.
    /// </summary>
    public static State After(ulong seed, long steps, bool lastCompacted = true)
    {
        var state = new State();
        for (var n = 1; n <= steps; n++)
        {
            Next(seed, n, state, compact: n < steps || lastCompacted);
        }

        return state;
    }
}
