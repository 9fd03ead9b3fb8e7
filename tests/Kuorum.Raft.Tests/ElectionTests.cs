using Kuorum.Raft.Tests.Harness;

namespace Kuorum.Raft.Tests;

/// <summary>Figure 2 "Rules for Servers" and §5.2 (leader election).</summary>
public sealed class ElectionTests
{
    private static readonly long[] ThreeVoters = [1, 2, 3];

    /// <summary>Puts node 1 of a three-node cluster in <paramref name="role"/>, without delivering anything that could change it.</summary>
    private static TestCluster ClusterWithNode1As(RaftRole role)
    {
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Paper with { PreVote = role == RaftRole.PreCandidate });
        switch (role)
        {
            case RaftRole.Follower:
                cluster.Elect(2);
                break;
            case RaftRole.Leader:
                cluster.Elect(1);
                break;
            default:
                cluster[1].Campaign();
                cluster.HandleReadies();
                break;
        }

        Assert.Equal(role, cluster[1].Role);
        return cluster;
    }

    [Theory]
    [InlineData(RaftRole.Follower, MessageType.Heartbeat)]
    [InlineData(RaftRole.PreCandidate, MessageType.Heartbeat)]
    [InlineData(RaftRole.Candidate, MessageType.Heartbeat)]
    [InlineData(RaftRole.Leader, MessageType.Heartbeat)]
    [InlineData(RaftRole.Follower, MessageType.Vote)]
    [InlineData(RaftRole.PreCandidate, MessageType.Vote)]
    [InlineData(RaftRole.Candidate, MessageType.Vote)]
    [InlineData(RaftRole.Leader, MessageType.Vote)]
    [InlineData(RaftRole.PreCandidate, MessageType.AppendResponse)]
    [InlineData(RaftRole.Candidate, MessageType.AppendResponse)]
    [InlineData(RaftRole.Leader, MessageType.AppendResponse)]
    public void AnyServer_MessageWithHigherTerm_AdoptsTermAndBecomesFollower(RaftRole role, MessageType type)
    {
        var cluster = ClusterWithNode1As(role);
        var node = cluster[1];
        var higher = node.Term + 1;
        var message = type switch
        {
            MessageType.Heartbeat => Build.Heartbeat(3, 1, higher),
            MessageType.Vote => Build.Vote(3, 1, higher, node.LastIndex + 5, higher),
            _ => Build.AppendResponse(3, 1, higher, 0),
        };

        node.Step(message);

        Assert.Equal(RaftRole.Follower, node.Role);
        Assert.Equal(higher, node.Term);
        Assert.Equal(type == MessageType.Heartbeat ? 3 : RaftNode.None, node.LeaderId);
    }

    [Fact]
    public void Follower_HearsNothingForElectionTimeout_BecomesCandidateOfNextTerm()
    {
        var node = TestNode.Bootstrap(ClusterOptions.Paper.ConfigFor(1), ThreeVoters);
        node.HandleReady();

        var ticks = TicksUntil(node, () => node.Raft.Role != RaftRole.Follower);

        Assert.InRange(ticks, ClusterOptions.ElectionTicks, (2 * ClusterOptions.ElectionTicks) - 1);
        Assert.Equal(RaftRole.Candidate, node.Raft.Role);
        Assert.Equal(2, node.Raft.Term);
    }

    [Fact]
    public void ElectionTimeouts_AreRandomizedWithinElectionToTwiceElection()
    {
        var timeouts = new List<int>();
        for (ulong seed = 1; seed <= 60; seed++)
        {
            var node = TestNode.Bootstrap((ClusterOptions.Paper with { Seed = seed }).ConfigFor(1), ThreeVoters);
            node.HandleReady();
            timeouts.Add(TicksUntil(node, () => node.Raft.Role == RaftRole.Candidate));

            // A candidate that does not win times out again, with a fresh random timeout, and campaigns in the next term.
            timeouts.Add(TicksUntil(node, () => node.Raft.Term == 3));
        }

        Assert.All(timeouts, t => Assert.InRange(t, ClusterOptions.ElectionTicks, (2 * ClusterOptions.ElectionTicks) - 1));
        Assert.True(timeouts.Distinct().Count() >= ClusterOptions.ElectionTicks / 2, $"timeouts are not spread: {string.Join(",", timeouts.Distinct())}");
    }

    [Fact]
    public void Follower_HearingHeartbeats_NeverStartsAnElection()
    {
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Paper);
        var leader = cluster.Elect(1);
        var term = leader.Term;

        cluster.TickAll(20 * ClusterOptions.ElectionTicks);

        Assert.Same(leader, cluster.Leader);
        Assert.Equal(term, leader.Term);
        Assert.DoesNotContain(cluster.Sent, m => m.Type is MessageType.Vote or MessageType.PreVote && m.Term > term);
    }

    [Fact]
    public void Candidate_OnCampaign_VotesForItselfAndRequestsVotesFromEveryVoter()
    {
        var node = new TestNode(ClusterOptions.Paper.ConfigFor(1), Build.State([1, 2, 3], term: 4, [1, 2, 4], learners: [4]));

        node.Raft.Campaign();
        var sent = node.HandleReady();

        Assert.Equal(RaftRole.Candidate, node.Raft.Role);
        Assert.Equal(5, node.Raft.Term);
        Assert.Equal(1, node.Raft.Vote);
        Assert.Equal(new HardState(5, 1, 0), node.Storage.HardState);
        Assert.Equal([2L, 3L], sent.Where(m => m.Type == MessageType.Vote).Select(m => m.To).Order());
        Assert.All(sent, m => Assert.Equal((MessageType.Vote, 5L, 3L, 4L), (m.Type, m.Term, m.Index, m.LogTerm)));
    }

    [Fact]
    public void Candidate_VotesFromMajority_BecomesLeaderAndSendsHeartbeats()
    {
        var node = new TestNode(ClusterOptions.Paper.ConfigFor(1), Build.State([1, 2, 3, 4, 5], term: 1, [1]));
        node.Raft.Campaign();
        node.HandleReady();

        node.Step(new Message { Type = MessageType.VoteResponse, From = 2, To = 1, Term = 2 });
        Assert.Equal(RaftRole.Candidate, node.Raft.Role);
        node.Step(new Message { Type = MessageType.VoteResponse, From = 3, To = 1, Term = 2, Reject = true });
        Assert.Equal(RaftRole.Candidate, node.Raft.Role);
        node.Step(new Message { Type = MessageType.VoteResponse, From = 4, To = 1, Term = 2 });

        Assert.Equal(RaftRole.Leader, node.Raft.Role);
        Assert.Equal(1, node.Raft.LeaderId);
        node.Tick();
        var heartbeats = node.HandleReady().Where(m => m.Type == MessageType.Heartbeat).ToList();
        Assert.Equal([2L, 3L, 4L, 5L], heartbeats.Select(m => m.To).Order());
        Assert.All(heartbeats, m => Assert.Equal(2, m.Term));
    }

    [Fact]
    public void Candidate_MajorityRejects_StepsDownWithoutWaitingForTimeout()
    {
        var node = new TestNode(ClusterOptions.Paper.ConfigFor(1), Build.State([1, 2, 3], term: 1, [1]));
        node.Raft.Campaign();
        node.HandleReady();

        node.Step(new Message { Type = MessageType.VoteResponse, From = 2, To = 1, Term = 2, Reject = true });
        node.Step(new Message { Type = MessageType.VoteResponse, From = 3, To = 1, Term = 2, Reject = true });

        Assert.Equal(RaftRole.Follower, node.Raft.Role);
        Assert.Equal(2, node.Raft.Term);
    }

    [Fact]
    public void Candidate_AppendFromLeaderOfSameTerm_RecognisesLeaderAndStepsDown()
    {
        var node = new TestNode(ClusterOptions.Paper.ConfigFor(1), Build.State([1, 2, 3], term: 1, [1]));
        node.Raft.Campaign();
        node.HandleReady();
        Assert.Equal((RaftRole.Candidate, 2L), (node.Raft.Role, node.Raft.Term));

        var sent = node.Step(Build.Append(2, 1, term: 2, prevIndex: 1, prevTerm: 1, Build.Entries(2, 2)));

        Assert.Equal(RaftRole.Follower, node.Raft.Role);
        Assert.Equal(2, node.Raft.Term);
        Assert.Equal(2, node.Raft.LeaderId);
        Assert.Contains(sent, m => m.Type == MessageType.AppendResponse && !m.Reject && m.Index == 2);
    }

    [Fact]
    public void SplitVote_NobodyWins_NewElectionInLaterTermElectsOneLeader()
    {
        var cluster = TestCluster.Bootstrap(4, ClusterOptions.Paper);

        // Nodes 1 and 2 campaign at once; node 3 hears only from 1 and node 4 only from 2: two votes each, three needed.
        cluster.DropWhere(m => m.Type == MessageType.Vote && (m.From, m.To) is (1, 4) or (2, 3));
        cluster[1].Campaign();
        cluster[2].Campaign();
        cluster.DeliverAll();

        Assert.Null(cluster.Leader);
        Assert.Equal((RaftRole.Candidate, 2L), (cluster[1].Role, cluster[1].Term));
        Assert.Equal((RaftRole.Candidate, 2L), (cluster[2].Role, cluster[2].Term));

        cluster.Recover();
        for (var tick = 0; cluster.Leader is null; tick++)
        {
            Assert.True(tick < 10 * ClusterOptions.ElectionTicks, "no leader after ten election timeouts");
            cluster.TickAll();
        }

        Assert.True(cluster.Leader!.Term > 2);
    }

    [Fact]
    public void Leader_OnElection_AppendsNoopOfItsTerm()
    {
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Paper);
        var lastBefore = cluster[1].LastIndex;

        var leader = cluster.Elect(1);

        var noop = cluster.Node(1).Storage.EntryAt(lastBefore + 1)!;
        Assert.True(noop.IsNoop);
        Assert.Equal(leader.Term, noop.Term);
        Assert.Equal(noop.Index, leader.CommitIndex);
        Assert.All(cluster.Ids, id => Assert.Contains(noop, cluster.Applied(id)));
    }

    private static int TicksUntil(TestNode node, Func<bool> condition)
    {
        var ticks = 0;
        while (!condition())
        {
            Assert.True(ticks < 10 * ClusterOptions.ElectionTicks, "the condition never held");
            node.Tick();
            node.HandleReady();
            ticks++;
        }

        return ticks;
    }
}
