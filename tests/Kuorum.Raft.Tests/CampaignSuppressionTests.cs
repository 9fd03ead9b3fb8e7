using Kuorum.Raft.Tests.Harness;

namespace Kuorum.Raft.Tests;

/// <summary>A node whose application is unhealthy starts no election, but still votes, so leadership goes elsewhere.</summary>
public sealed class CampaignSuppressionTests
{
    [Fact]
    public void ASuppressedNode_NeverCampaigns_ButVotesForAnother()
    {
        var cluster = TestCluster.Bootstrap(3);
        cluster[1].CampaignSuppressed = true;
        cluster[2].CampaignSuppressed = true;

        // Long past every election timeout, only node 3 may have campaigned, and it won with a suppressed node's vote.
        for (var i = 0; i < 100; i++)
        {
            cluster.TickAll();
            cluster.DeliverAll();
        }

        Assert.Equal(3, cluster.Leader?.Id);
        Assert.NotEqual(RaftRole.Leader, cluster[1].Role);
        Assert.NotEqual(RaftRole.Leader, cluster[2].Role);
    }

    [Fact]
    public void ASuppressedNode_IgnoresCampaignAndTimeoutNow()
    {
        var cluster = TestCluster.Bootstrap(3);
        cluster.Elect(1);
        var term = cluster[1].Term;
        cluster[2].CampaignSuppressed = true;

        cluster[2].Campaign();
        Assert.Equal(RaftRole.Follower, cluster[2].Role);

        // The leader picks node 2 explicitly; node 2 does not take over, the leader stays.
        Assert.True(cluster[1].TransferLeadership(2).IsAccepted);
        cluster.DeliverAll();
        Assert.Equal(RaftRole.Follower, cluster[2].Role);
        Assert.Equal(term, cluster[2].Term);

        // Healthy again: the next transfer works.
        cluster[2].CampaignSuppressed = false;
        cluster.TickAll(ClusterOptions.ElectionTicks + 1);
        cluster.DeliverAll();
        Assert.True(cluster[1].TransferLeadership(2).IsAccepted);
        cluster.DeliverAll();
        Assert.Equal(2, cluster.Leader?.Id);
    }
}
