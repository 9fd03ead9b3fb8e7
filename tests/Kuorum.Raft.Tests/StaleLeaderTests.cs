using Kuorum.Raft.Tests.Harness;

namespace Kuorum.Raft.Tests;

/// <summary>
/// A leader left behind in an old term learns the new term from the first member it heartbeats, and steps down, even
/// without pre-vote and check-quorum (found by the simulation: seed 100182, a leader that removed itself and could not
/// commit the removal led its own log forever).
/// </summary>
public sealed class StaleLeaderTests
{
    [Fact]
    public void WithoutCheckQuorum_AStaleLeadersHeartbeat_IsAnsweredWithTheNewTerm_AndItStepsDown()
    {
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Paper);
        cluster.Elect(1);
        cluster.Isolate(1);
        cluster.Elect(2);
        Assert.Equal(RaftRole.Leader, cluster[1].Role);
        var newTerm = cluster[2].Term;

        cluster.Recover();
        cluster.Tick(1);
        cluster.DeliverAll();

        Assert.Equal(RaftRole.Follower, cluster[1].Role);
        Assert.Equal(newTerm, cluster[1].Term);
        Assert.Equal(RaftRole.Leader, cluster[2].Role);
    }
}
