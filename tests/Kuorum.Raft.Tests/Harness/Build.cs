using System.Text;

namespace Kuorum.Raft.Tests.Harness;

/// <summary>Builders for logs, persisted states and messages, so tests can state a scenario the way the paper draws it.</summary>
internal static class Build
{
    public static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    public static string Text(Entry entry) => Encoding.UTF8.GetString(entry.Data.Span);

    /// <summary>Normal entries from <paramref name="firstIndex"/> on, one per term given; each carries "index@term".</summary>
    public static List<Entry> Entries(long firstIndex, params long[] terms) =>
        terms.Select((term, i) => new Entry(firstIndex + i, term, EntryType.Normal, Bytes($"{firstIndex + i}@{term}"))).ToList();

    /// <summary><paramref name="count"/> copies of <paramref name="term"/>, for logs drawn as runs of one term.</summary>
    public static long[] Run(long term, int count) => Enumerable.Repeat(term, count).ToArray();

    /// <summary>
    /// What a node of the cluster <paramref name="voters"/> (plus <paramref name="learners"/>) holds on disk: a log of
    /// entries with the given terms from index 1, term and vote, with everything up to <paramref name="commit"/> applied.
    /// </summary>
    public static RaftStorageState State(long[] voters, long term, long[] entryTerms, long commit = 0, long vote = RaftNode.None, long[]? learners = null) =>
        new(
            new HardState(term, vote, commit),
            new SnapshotMetadata(0, 0, new Membership(voters, learners)),
            null,
            Entries(1, entryTerms),
            commit);

    public static Message Vote(long from, long to, long term, long lastIndex, long lastTerm, bool transfer = false) =>
        new() { Type = MessageType.Vote, From = from, To = to, Term = term, Index = lastIndex, LogTerm = lastTerm, Transfer = transfer };

    public static Message PreVote(long from, long to, long term, long lastIndex, long lastTerm) =>
        new() { Type = MessageType.PreVote, From = from, To = to, Term = term, Index = lastIndex, LogTerm = lastTerm };

    public static Message Append(long from, long to, long term, long prevIndex, long prevTerm, IReadOnlyList<Entry> entries, long commit = 0) =>
        new() { Type = MessageType.Append, From = from, To = to, Term = term, Index = prevIndex, LogTerm = prevTerm, Entries = entries, Commit = commit };

    public static Message Heartbeat(long from, long to, long term, long commit = 0) =>
        new() { Type = MessageType.Heartbeat, From = from, To = to, Term = term, Commit = commit };

    public static Message AppendResponse(long from, long to, long term, long index) =>
        new() { Type = MessageType.AppendResponse, From = from, To = to, Term = term, Index = index };

    public static Message InstallSnapshot(long from, long to, long term, SnapshotMetadata? snapshot, long offset, byte[] data, bool done) =>
        new()
        {
            Type = MessageType.InstallSnapshot,
            From = from,
            To = to,
            Term = term,
            Index = snapshot?.Index ?? 0,
            Snapshot = snapshot,
            Offset = offset,
            Data = data,
            Done = done,
        };
}
