using Kuorum.Raft.Tests.Harness;

namespace Kuorum.Raft.Tests;

/// <summary>RequestVote receiver rules (Figure 2, §5.2) and the election restriction (§5.4.1).</summary>
public sealed class VotingTests
{
    // A follower of term 2 whose log is [1@1, 2@1, 3@2]: last index 3, last term 2.
    private static TestNode Follower() =>
        new(ClusterOptions.Paper.ConfigFor(1), Build.State([1, 2, 3, 4], term: 2, [1, 1, 2]));

    private static Message? VoteAnswer(List<Message> sent) => sent.SingleOrDefault(m => m.Type == MessageType.VoteResponse);

    [Fact]
    public void Follower_FirstVoteRequestOfTerm_IsGrantedAndVoteRecorded()
    {
        var node = Follower();

        var answer = VoteAnswer(node.Step(Build.Vote(2, 1, term: 3, lastIndex: 3, lastTerm: 2)));

        Assert.NotNull(answer);
        Assert.False(answer.Reject);
        Assert.Equal(3, answer.Term);
        Assert.Equal((3L, 2L), (node.Raft.Term, node.Raft.Vote));
        Assert.Equal((3L, 2L), (node.Storage.HardState.Term, node.Storage.HardState.Vote));
    }

    [Fact]
    public void Follower_SecondCandidateInSameTerm_IsRejected_FirstComeFirstServed()
    {
        var node = Follower();
        node.Step(Build.Vote(2, 1, term: 3, lastIndex: 3, lastTerm: 2));

        var answer = VoteAnswer(node.Step(Build.Vote(3, 1, term: 3, lastIndex: 9, lastTerm: 2)));

        Assert.NotNull(answer);
        Assert.True(answer.Reject);
        Assert.Equal(2, node.Raft.Vote);
    }

    [Fact]
    public void Follower_SameCandidateAskingAgainInSameTerm_IsGrantedAgain()
    {
        var node = Follower();
        node.Step(Build.Vote(2, 1, term: 3, lastIndex: 3, lastTerm: 2));

        // The first answer may have been lost: the candidate asks again.
        var answer = VoteAnswer(node.Step(Build.Vote(2, 1, term: 3, lastIndex: 3, lastTerm: 2)));

        Assert.NotNull(answer);
        Assert.False(answer.Reject);
        Assert.Equal(2, node.Raft.Vote);
    }

    [Fact]
    public void Follower_VoteGrantedInTerm_NextTermVotesAfresh()
    {
        var node = Follower();
        node.Step(Build.Vote(2, 1, term: 3, lastIndex: 3, lastTerm: 2));

        var answer = VoteAnswer(node.Step(Build.Vote(3, 1, term: 4, lastIndex: 3, lastTerm: 2)));

        Assert.NotNull(answer);
        Assert.False(answer.Reject);
        Assert.Equal((4L, 3L), (node.Raft.Term, node.Raft.Vote));
    }

    [Theory]
    [InlineData(10, 1)] // longer, but its last term is older
    [InlineData(2, 2)] // same last term, shorter
    [InlineData(0, 0)] // empty log
    public void Follower_VoteRequestWithStaleLog_IsRejected(long lastIndex, long lastTerm)
    {
        var node = Follower();

        var answer = VoteAnswer(node.Step(Build.Vote(2, 1, term: 3, lastIndex, lastTerm)));

        Assert.NotNull(answer);
        Assert.True(answer.Reject);
        Assert.Equal(3, node.Raft.Term);
        Assert.Equal(RaftNode.None, node.Raft.Vote);
    }

    [Theory]
    [InlineData(1, 3)] // shorter, but its last term is newer
    [InlineData(3, 2)] // identical
    [InlineData(4, 2)] // same last term, longer
    public void Follower_VoteRequestWithLogAtLeastAsUpToDate_IsGranted(long lastIndex, long lastTerm)
    {
        var node = Follower();

        var answer = VoteAnswer(node.Step(Build.Vote(2, 1, term: 3, lastIndex, lastTerm)));

        Assert.NotNull(answer);
        Assert.False(answer.Reject);
        Assert.Equal(2, node.Raft.Vote);
    }

    [Fact]
    public void Follower_VoteRequestFromEarlierTerm_IsNotGranted()
    {
        var node = Follower();

        var sent = node.Step(Build.Vote(2, 1, term: 1, lastIndex: 9, lastTerm: 2));

        Assert.DoesNotContain(sent, m => m.Type == MessageType.VoteResponse && !m.Reject);
        Assert.Equal((2L, RaftNode.None), (node.Raft.Term, node.Raft.Vote));
    }

    [Fact]
    public void Follower_KnowsLeaderOfTerm_RejectsVoteRequestOfSameTerm()
    {
        var node = Follower();
        node.Step(Build.Heartbeat(3, 1, term: 2));

        var answer = VoteAnswer(node.Step(Build.Vote(4, 1, term: 2, lastIndex: 9, lastTerm: 2)));

        Assert.NotNull(answer);
        Assert.True(answer.Reject);
    }

    [Fact]
    public void Election_CandidateMissingCommittedEntry_CannotWin()
    {
        // Node 1 missed index 2, which nodes 2 and 3 committed with the old leader: no majority will vote for it.
        var cluster = TestCluster.FromStates(ClusterOptions.Paper, new Dictionary<long, RaftStorageState>
        {
            [1] = Build.State([1, 2, 3], term: 2, [1]),
            [2] = Build.State([1, 2, 3], term: 2, [1, 2], commit: 2),
            [3] = Build.State([1, 2, 3], term: 2, [1, 2], commit: 2),
        });

        cluster[1].Campaign();
        cluster.DeliverAll();

        Assert.NotEqual(RaftRole.Leader, cluster[1].Role);
        Assert.Equal(2, cluster.Delivered.Count(m => m.Type == MessageType.VoteResponse && m.Reject));
    }
}
