using Kuorum.Raft.Tests.Harness;

namespace Kuorum.Raft.Tests;

/// <summary>Peer input is never trusted: malformed or misaddressed messages are ignored without throwing or changing state.</summary>
public sealed class BadInputTests
{
    private sealed record Fingerprint(long Term, long Vote, RaftRole Role, long Leader, long Commit, long Applied, long LastIndex, long SnapshotIndex, Membership Membership);

    private static Fingerprint Of(RaftNode node)
    {
        var s = node.Status();
        return new(s.Term, s.Vote, s.Role, s.LeaderId, s.Commit, s.Applied, s.LastIndex, s.SnapshotIndex, s.Membership);
    }

    /// <summary>Messages that node 2 (a follower of node 1, whose log ends at <paramref name="last"/> of <paramref name="term"/>) must ignore.</summary>
    private static Message Malformed(string kind, long term, long last) => kind switch
    {
        "addressed to another node" => Build.Append(1, 3, term, last, term, Build.Entries(last + 1, term), commit: last + 1),
        "from node 0" => Build.Vote(0, 2, term + 1, last + 9, term + 1),
        "from itself" => Build.Heartbeat(2, 2, term + 1, commit: last),
        "entries with a gap" => Build.Append(1, 2, term, last, term, [.. Build.Entries(last + 1, term), .. Build.Entries(last + 3, term)], commit: last + 3),
        "entries not following prev index" => Build.Append(1, 2, term, last, term, Build.Entries(last + 2, term), commit: last + 2),
        "entry terms decreasing" => Build.Append(1, 2, term, last, term, [.. Build.Entries(last + 1, term), .. Build.Entries(last + 2, term - 1)], commit: last + 2),
        "entry term below prev term" => Build.Append(1, 2, term, last, term, Build.Entries(last + 1, term - 1), commit: last + 1),
        "entry term above message term" => Build.Append(1, 2, term, last, term, Build.Entries(last + 1, term + 1), commit: last + 1),
        "null entry" => Build.Append(1, 2, term, last, term, [null!], commit: last + 1),
        "snapshot chunk without metadata" => Build.InstallSnapshot(1, 2, term, null, 0, [1, 2, 3], done: true),
        "snapshot chunk whose index disagrees with metadata" => new Message
        {
            Type = MessageType.InstallSnapshot,
            From = 1,
            To = 2,
            Term = term,
            Index = last + 4,
            Snapshot = new SnapshotMetadata(last + 5, term, new Membership([1, 2, 3])),
            Data = new byte[] { 1 },
            Done = true,
        },
        "snapshot chunk at negative offset" => Build.InstallSnapshot(1, 2, term, new SnapshotMetadata(last + 5, term, new Membership([1, 2, 3])), -1, [1], done: true),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    [Theory]
    [InlineData("addressed to another node")]
    [InlineData("from node 0")]
    [InlineData("from itself")]
    [InlineData("entries with a gap")]
    [InlineData("entries not following prev index")]
    [InlineData("entry terms decreasing")]
    [InlineData("entry term below prev term")]
    [InlineData("entry term above message term")]
    [InlineData("null entry")]
    [InlineData("snapshot chunk without metadata")]
    [InlineData("snapshot chunk whose index disagrees with metadata")]
    [InlineData("snapshot chunk at negative offset")]
    public void Step_MalformedOrMisaddressedMessage_IsIgnoredWithoutThrowing(string kind)
    {
        var cluster = TestCluster.Bootstrap(3);
        var leader = cluster.Elect(1);
        var node = cluster.Node(2);
        var before = Of(node.Raft);
        var log = node.Storage.Entries.ToList();
        var message = Malformed(kind, leader.Term, node.Raft.LastIndex);

        var error = Record.Exception(() => node.Raft.Step(message));

        Assert.Null(error);
        Assert.False(node.Raft.HasReady, "the node has something to persist or send");
        Assert.Equal(before, Of(node.Raft));
        Assert.Equal(log, node.Storage.Entries);
    }

    [Fact]
    public void Propose_EmptyEntry_IsInvalidAndAppendsNothing()
    {
        var cluster = TestCluster.Bootstrap(3);
        var leader = cluster.Elect(1);
        var last = leader.LastIndex;

        var empty = leader.Propose(ReadOnlyMemory<byte>.Empty);
        var emptyBatch = leader.ProposeBatch([]);
        var batchWithEmpty = leader.ProposeBatch([Build.Bytes("ok"), ReadOnlyMemory<byte>.Empty]);

        Assert.All([empty, emptyBatch, batchWithEmpty], r => Assert.Equal(ProposalStatus.Invalid, r.Status));
        Assert.Contains("empty", empty.Error);
        Assert.Equal(last, leader.LastIndex);
    }

    [Fact]
    public void Propose_OnFollower_IsRefusedWithLeaderHint()
    {
        var cluster = TestCluster.Bootstrap(3);
        cluster.Elect(1);

        var result = cluster.Propose(2, "x");

        Assert.Equal((ProposalStatus.NotLeader, 1L), (result.Status, result.LeaderHint));
    }
}
