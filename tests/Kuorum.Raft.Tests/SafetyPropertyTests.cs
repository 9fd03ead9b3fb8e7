using Kuorum.Raft.Tests.Harness;

namespace Kuorum.Raft.Tests;

/// <summary>
/// Figure 3's guarantees under seeded random faults: crashes and restarts, partitions, message loss, leadership
/// transfers, compaction, membership changes and reads of both kinds. Every step is checked by
/// <see cref="SafetyChecker"/>; at the end the faults heal and the cluster must serve writes and reads again.
/// </summary>
public sealed class SafetyPropertyTests
{
    public static TheoryData<int, string> Runs()
    {
        var runs = new TheoryData<int, string>();
        for (var seed = 1; seed <= 12; seed++)
        {
            runs.Add(seed, "default");
            runs.Add(seed, "pre-vote only");
            runs.Add(seed, "paper");
        }

        return runs;
    }

    [Theory]
    [MemberData(nameof(Runs))]
    public void RandomFaults_Figure3PropertiesHoldAndClusterRecovers(int seed, string config)
    {
        var options = (config switch
        {
            "paper" => ClusterOptions.Paper,
            "pre-vote only" => ClusterOptions.Paper with { PreVote = true },
            _ => ClusterOptions.Default,
        }) with
        {
            Seed = (ulong)seed,
            SnapshotChunkBytes = 8,
            MaxAppendBytes = 200,
            MaxInflightMessages = 4,
        };

        // Without pre-vote or check-quorum a removed server that never learns of its removal disrupts the cluster
        // for ever (§4.2.3 of the dissertation): the paper configuration keeps its founding members.
        var changeMembership = options.PreVote || options.CheckQuorum;
        var random = new SeededRandom((ulong)seed);
        var loss = new SeededRandom((ulong)seed + 1000);
        var cluster = TestCluster.Bootstrap(5, options);
        cluster.AddEmptyNode(6);
        cluster.AddEmptyNode(7);
        var ids = cluster.Ids.ToList();
        var checker = new SafetyChecker(cluster);
        void LoseSomeMessages() => cluster.DropWhere(_ => loss.Next(100) < 5);
        LoseSomeMessages();
        long context = 0;

        for (var step = 0; step < 600; step++)
        {
            var up = ids.Where(id => cluster.Node(id).IsUp).ToList();
            var down = ids.Where(id => !cluster.Node(id).IsUp).ToList();
            var any = ids[random.Next(ids.Count)];
            var action = random.Next(100);
            switch (action)
            {
                case < 55:
                    cluster.TickAll();
                    break;
                case >= 55 and < 70 when cluster.Leader is { } leader:
                    leader.Propose(Build.Bytes($"s{seed}-{step}"));
                    cluster.DeliverAll();
                    break;
                case >= 70 and < 74 when up.Count > 0:
                    cluster.Crash(up[random.Next(up.Count)]);
                    break;
                case >= 74 and < 80 when down.Count > 0:
                    cluster.Restart(down[random.Next(down.Count)]);
                    break;
                case >= 80 and < 84:
                    cluster.Isolate(any);
                    break;
                case >= 84 and < 87:
                    cluster.Cut(any, ids[random.Next(ids.Count)]);
                    break;
                case >= 87 and < 91:
                    cluster.Recover();
                    LoseSomeMessages();
                    break;
                case >= 91 and < 92 when cluster.Leader is { } leader:
                    leader.TransferLeadership(any);
                    cluster.DeliverAll();
                    break;
                case >= 92 and < 93 when changeMembership && cluster.Leader is { } leader:
                    leader.ProposeConfChange(NextChange(leader.Membership, any));
                    cluster.DeliverAll();
                    break;
                case >= 93 and < 96 when cluster.Node(any).IsUp && cluster[any].AppliedIndex > cluster[any].Status().SnapshotIndex:
                    cluster.Compact(any, cluster[any].AppliedIndex, Build.Bytes($"snapshot of node {any} at {cluster[any].AppliedIndex}"));
                    break;
                case >= 96 when cluster.Node(any).IsUp:
                    context++;
                    if (cluster[any].ReadIndex(context, action % 2 == 0 ? ReadConsistency.Lease : ReadConsistency.Linearizable).IsAccepted)
                    {
                        checker.ExpectRead(any, context);
                    }

                    cluster.DeliverAll();
                    break;
            }

            checker.Check();
        }

        // Heal everything: a leader emerges, and every member applies a new entry and answers a read.
        cluster.Recover();
        foreach (var id in ids.Where(id => !cluster.Node(id).IsUp).ToList())
        {
            cluster.Restart(id);
        }

        cluster.TickAll(10 * ClusterOptions.ElectionTicks);
        var final = Assert.IsType<RaftNode>(cluster.Leader);
        var members = final.Membership.All.ToList();
        var index = final.Propose(Build.Bytes("final")).Index;
        cluster.TickAll(5);
        var answeredBefore = checker.ReadsChecked;
        foreach (var id in members)
        {
            Assert.True(cluster[id].ReadIndex(++context).IsAccepted);
            checker.ExpectRead(id, context);
        }

        Assert.True(final.ReadIndex(++context, ReadConsistency.Lease).IsAccepted);
        checker.ExpectRead(final.Id, context);
        cluster.TickAll(2);
        checker.Check();

        Assert.All(members, id => Assert.Equal(index, cluster[id].AppliedIndex));
        Assert.Equal(answeredBefore + members.Count + 1, checker.ReadsChecked);
    }

    // Promote a learner if there is one; else add a non-member as a learner, or remove a voter when there are five.
    private static ConfChange NextChange(Membership membership, long candidate) =>
        membership.Learners.Count > 0 ? new ConfChange(ConfChangeType.PromoteLearner, membership.Learners[0])
        : !membership.Contains(candidate) ? new ConfChange(ConfChangeType.AddLearner, candidate)
        : new ConfChange(membership.Voters.Count > 4 ? ConfChangeType.RemoveMember : ConfChangeType.AddLearner, candidate);
}
