using Kuorum.Raft.Tests.Harness;

namespace Kuorum.Raft.Tests;

/// <summary>Pipelining and flow control (modelled on etcd-io/raft's Progress and Inflights).</summary>
public sealed class FlowControlTests
{
    private static bool IsAppendTo(Message m, long to) => m.Type == MessageType.Append && m.To == to && m.Entries.Count > 0;

    [Fact]
    public void Leader_ReplicatingFollower_KeepsAtMostMaxInflightAppendsOutstanding()
    {
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Paper with { MaxInflightMessages = 3, MaxAppendBytes = 1 });
        var leader = cluster.Elect(1);
        Assert.Equal(ReplicationState.Replicate, leader.ProgressOf(2).State);

        for (var i = 0; i < 10; i++)
        {
            cluster.Propose(1, $"e{i}");
        }

        cluster.HandleReadies();
        Assert.Equal(3, cluster.InFlight.Count(m => IsAppendTo(m, 2)));

        var peak = 0;
        while (cluster.DeliverOne())
        {
            peak = Math.Max(peak, cluster.InFlight.Count(m => IsAppendTo(m, 2)));
        }

        Assert.Equal(3, peak);
        Assert.Equal(leader.LastIndex, cluster[2].LastIndex);
    }

    [Fact]
    public void Leader_InflightWindowFull_StopsUntilAcknowledgementsArrive()
    {
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Paper with { MaxInflightMessages = 3, MaxAppendBytes = 1 });
        var leader = cluster.Elect(1);
        var start = cluster[2].LastIndex;
        cluster.DropWhere(m => m.Type == MessageType.AppendResponse && m.From == 2);

        for (var i = 0; i < 10; i++)
        {
            cluster.Propose(1, $"e{i}");
        }

        cluster.DeliverAll();

        Assert.Equal(start + 3, cluster[2].LastIndex);
        Assert.Equal(3, cluster.Delivered.Count(m => IsAppendTo(m, 2) && m.Index >= start));

        // A heartbeat answer frees a slot; the next acknowledgement frees the rest and the pipeline drains.
        cluster.Recover();
        cluster.Tick(1);

        Assert.Equal(leader.LastIndex, cluster[2].LastIndex);
        Assert.Equal(leader.LastIndex, leader.ProgressOf(2).Match);
    }

    [Fact]
    public void Leader_Batching_PutsNoMoreThanMaxAppendBytesInOneAppend()
    {
        const int DataBytes = 10;
        const long MaxAppendBytes = 2 * (Entry.HeaderBytes + DataBytes);
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Paper with { MaxAppendBytes = MaxAppendBytes });
        cluster.Elect(1);

        var batch = Enumerable.Range(0, 5).Select(i => (ReadOnlyMemory<byte>)Build.Bytes($"entry-{i:D4}")).ToList();
        Assert.All(batch, d => Assert.Equal(DataBytes, d.Length));
        cluster[1].ProposeBatch(batch);
        cluster.HandleReadies();

        var appends = cluster.InFlight.Where(m => IsAppendTo(m, 2)).ToList();
        Assert.Equal([2, 2, 1], appends.Select(m => m.Entries.Count));
        Assert.All(appends, m => Assert.True(m.Entries.Sum(e => e.SizeBytes) <= MaxAppendBytes));
        cluster.DeliverAll();
        Assert.Equal(cluster[1].LastIndex, cluster[2].LastIndex);
    }

    [Fact]
    public void Leader_EntryLargerThanMaxAppendBytes_IsSentAloneAnyway()
    {
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Paper with { MaxAppendBytes = 64 });
        cluster.Elect(1);

        var index = cluster[1].ProposeBatch([new byte[100], new byte[100]]).Index;
        cluster.HandleReadies();

        Assert.Equal([1, 1], cluster.InFlight.Where(m => IsAppendTo(m, 2)).Select(m => m.Entries.Count));
        cluster.DeliverAll();
        Assert.Equal(index, cluster[1].CommitIndex);
    }

    [Fact]
    public void Leader_ProbingFollower_GetsOneAppendAtATime()
    {
        var cluster = TestCluster.Bootstrap(3, ClusterOptions.Paper);
        var leader = cluster[1];
        leader.Campaign();
        cluster.DeliverUntil(() => leader.Role == RaftRole.Leader);

        // A new leader probes each follower. Follower 2's answers are lost, so it stays in Probe.
        cluster.DropWhere(m => m.Type == MessageType.AppendResponse && m.From == 2);
        for (var i = 0; i < 5; i++)
        {
            cluster.Propose(1, $"e{i}");
        }

        cluster.DeliverAll();

        Assert.Equal(ReplicationState.Probe, leader.ProgressOf(2).State);
        Assert.Equal(1, cluster.Delivered.Count(m => m.Type == MessageType.Append && m.To == 2));

        // Each heartbeat answer lets exactly one more probe go out.
        for (var beat = 1; beat <= 3; beat++)
        {
            cluster.Tick(1);
            Assert.Equal(1 + beat, cluster.Delivered.Count(m => m.Type == MessageType.Append && m.To == 2));
        }

        Assert.Equal(ReplicationState.Replicate, leader.ProgressOf(3).State);
    }
}
