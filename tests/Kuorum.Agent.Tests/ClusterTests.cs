using System.Collections.Concurrent;
using Google.Protobuf;
using Grpc.Core;
using Kuorum.Agent.Tests.Harness;
using Kuorum.Api.V1;
using Xunit.Abstractions;

namespace Kuorum.Agent.Tests;

/// <summary>
/// The cluster with real agent processes on loopback: forming, replicating, failing over after SIGKILL without losing
/// an acknowledged write, catching up by log and by snapshot, forwarding, watching, leases and locks. These tests run
/// one at a time (each starts three or four processes on a 2-core machine).
/// </summary>
[Collection(nameof(ClusterTests))]
public sealed class ClusterTests(ITestOutputHelper output)
{
    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    [Fact]
    public async Task Cluster_Forms_AndEveryMemberAgreesOnOneLeader()
    {
        await using var cluster = AgentCluster.Start(output, 3);
        var leader = await cluster.WaitForLeaderAsync();
        foreach (var agent in cluster.Agents)
        {
            var info = await agent.Leadership.GetLeaderAsync(new GetLeaderRequest());
            Assert.Equal(leader.Id, info.LeaderId);
            Assert.Equal(agent == leader, info.IsLocal);
            Assert.True(info.Term > 0);
            var status = await agent.Admin.StatusAsync(new StatusRequest());
            Assert.Equal(3, status.Members.Count(m => m.Voter));
        }
    }

    [Fact]
    public async Task Writes_Replicate_AndFollowersForwardWritesToTheLeader()
    {
        await using var cluster = AgentCluster.Start(output, 3);
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Agents.First(a => a != leader);
        var put = await Calls.RetryWhileUnavailableAsync(() => follower.Kv.PutAsync(new PutRequest { Key = B("via-follower"), Value = B("1") }).ResponseAsync);
        Assert.True(put.Header.Revision > 0);
        await Calls.RetryWhileUnavailableAsync(() => leader.Kv.PutAsync(new PutRequest { Key = B("via-leader"), Value = B("2") }).ResponseAsync);

        foreach (var agent in cluster.Agents)
        {
            // A linearizable read on any member sees both writes.
            var a = await agent.Kv.GetAsync(new GetRequest { Key = B("via-follower") });
            var b = await agent.Kv.GetAsync(new GetRequest { Key = B("via-leader"), Consistency = Consistency.Lease });
            Assert.Equal("1", a.Kv.Value.ToStringUtf8());
            Assert.Equal("2", b.Kv.Value.ToStringUtf8());
        }
    }

    [Fact]
    public async Task KillingTheLeader_ElectsANewOne_AndLosesNoAcknowledgedWrite()
    {
        await using var cluster = AgentCluster.Start(output, 3);
        var leader = await cluster.WaitForLeaderAsync();
        var acknowledged = new ConcurrentDictionary<string, string>();
        using var stop = new CancellationTokenSource();

        // Writers on every member keep writing through the failover; only acknowledged writes are remembered.
        var writers = cluster.Agents.Select((agent, w) => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var key = $"w{w}/{i}";
                try
                {
                    await agent.Kv.PutAsync(new PutRequest { Key = B(key), Value = B(key) }, deadline: DateTime.UtcNow.AddSeconds(3));
                    acknowledged[key] = key;
                }
                catch (RpcException)
                {
                    // Not acknowledged: it may or may not be there.
                }
            }
        })).ToList();

        await WaitUntilAsync(() => Task.FromResult(acknowledged.Count >= 10), cluster);
        var before = acknowledged.Count;
        await leader.KillAsync();
        var newLeader = await cluster.WaitForLeaderAsync(not: leader);
        Assert.NotEqual(leader.Id, newLeader.Id);

        // The new leader accepts writes.
        await Calls.RetryWhileUnavailableAsync(() => newLeader.Kv.PutAsync(new PutRequest { Key = B("after-failover"), Value = B("ok") }).ResponseAsync);
        await Task.Delay(500);
        await stop.CancelAsync();
        await Task.WhenAll(writers);
        Assert.True(before > 0 && acknowledged.Count > before, $"writes went on: {before} before the kill, {acknowledged.Count} in all");

        // Every acknowledged write is there, on the new leader and on the other survivor.
        foreach (var agent in cluster.Agents.Where(a => a.IsRunning))
        {
            var all = await agent.Kv.RangeAsync(new RangeRequest { Prefix = B("w") });
            var present = all.Kvs.Select(kv => kv.Key.ToStringUtf8()).ToHashSet();
            var missing = acknowledged.Keys.Where(k => !present.Contains(k)).ToList();
            Assert.True(missing.Count == 0, $"agent {agent.Id} lost {missing.Count} acknowledged writes, e.g. {string.Join(", ", missing.Take(5))}");
        }

        // The killed member comes back and catches up from its log.
        leader.Start(cluster.Peers);
        await WaitUntilAsync(async () =>
        {
            var got = await leader.Kv.GetAsync(new GetRequest { Key = B("after-failover"), Consistency = Consistency.Stale });
            return got.Kv?.Value.ToStringUtf8() == "ok";
        }, cluster);
    }

    [Fact]
    public async Task ARestartedMember_CatchesUpBySnapshot_AfterTheLeaderCompactedItsLog()
    {
        await using var cluster = AgentCluster.Start(output, 3);
        var leader = await cluster.WaitForLeaderAsync();
        var lagging = cluster.Agents.First(a => a != leader);
        await lagging.KillAsync();

        for (var i = 0; i < 200; i++)
        {
            await leader.Kv.PutAsync(new PutRequest { Key = B($"snap/{i:D3}"), Value = B(new string('x', 100)) });
        }

        var snapshot = await leader.Admin.SnapshotAsync(new SnapshotRequest());
        Assert.True(snapshot.Index > 200);
        await Calls.RetryWhileUnavailableAsync(() => leader.Kv.PutAsync(new PutRequest { Key = B("snap/after"), Value = B("tail") }).ResponseAsync);

        lagging.Start(cluster.Peers);
        await WaitUntilAsync(async () =>
        {
            var status = await lagging.Admin.StatusAsync(new StatusRequest());
            return status.SnapshotIndex >= snapshot.Index && status.AppliedIndex >= snapshot.Index + 1;
        }, cluster);
        var range = await lagging.Kv.RangeAsync(new RangeRequest { Prefix = B("snap/"), Consistency = Consistency.Stale });
        Assert.Equal(201, range.Kvs.Count);
        Assert.Contains(range.Kvs, kv => kv.Key.ToStringUtf8() == "snap/after");
    }

    [Fact]
    public async Task Watch_ResumesFromARevision_AndSeesLaterChanges()
    {
        await using var cluster = AgentCluster.Start(output, 3);
        var leader = await cluster.WaitForLeaderAsync();
        var revisions = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            revisions.Add((await leader.Kv.PutAsync(new PutRequest { Key = B($"watch/{i}"), Value = B($"{i}") })).Header.Revision);
        }

        var follower = cluster.Agents.First(a => a != leader);
        using var call = follower.Kv.Watch(new WatchRequest { Key = B("watch/"), Prefix = true, StartRevision = revisions[2] });
        var seen = new List<string>();
        var reader = Task.Run(async () =>
        {
            await foreach (var response in call.ResponseStream.ReadAllAsync())
            {
                seen.AddRange(response.Events.Select(e => $"{e.Type}:{e.Kv.Key.ToStringUtf8()}@{e.Kv.ModRevision}"));
                if (seen.Count >= 4)
                {
                    return;
                }
            }
        });
        await Task.Delay(300);
        var deleted = await leader.Kv.DeleteAsync(new DeleteRequest { Key = B("watch/0") });
        Assert.Equal(1, deleted.Deleted);
        await reader.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(
            [$"Put:watch/2@{revisions[2]}", $"Put:watch/3@{revisions[3]}", $"Put:watch/4@{revisions[4]}", $"Delete:watch/0@{deleted.Header.Revision}"],
            seen);
    }

    [Fact]
    public async Task ALeaseExpiry_ReleasesItsLock_AndTheNextHolderGetsALargerFencingToken()
    {
        await using var cluster = AgentCluster.Start(output, 3);
        var leader = await cluster.WaitForLeaderAsync();
        var a = cluster.Agents[0];
        var b = cluster.Agents[1];
        // The leader starts A's countdown when it applies the grant, so no lock can pass on before a TTL from here.
        var started = DateTime.UtcNow;
        var leaseA = await a.Lease.GrantAsync(new LeaseGrantRequest { TtlMs = 1000 });
        var leaseB = await b.Lease.GrantAsync(new LeaseGrantRequest { TtlMs = 30_000 });
        var first = await a.Lock.AcquireAsync(new LockRequest { Name = "job", Lease = leaseA.Id });
        Assert.True(first.FencingToken > 0);

        // B waits; A never renews its lease, so the leader revokes it and B gets the lock.
        var second = await b.Lock.AcquireAsync(new LockRequest { Name = "job", Lease = leaseB.Id, WaitMs = 10_000 });
        var waited = DateTime.UtcNow - started;
        Assert.True(second.FencingToken > first.FencingToken, $"token {second.FencingToken} after {first.FencingToken}");
        Assert.True(waited >= TimeSpan.FromMilliseconds(950), $"B got the lock {waited.TotalMilliseconds} ms after A's lease was asked for, before it could expire");
        var ttl = await leader.Lease.TimeToLiveAsync(new LeaseTimeToLiveRequest { Id = leaseA.Id });
        Assert.Equal(-1, ttl.TtlMs);

        // A lease kept alive keeps its lock: a third lease waiting 2 s past B's TTL... B renews and C times out.
        var leaseC = await a.Lease.GrantAsync(new LeaseGrantRequest { TtlMs = 30_000 });
        var refused = await Assert.ThrowsAsync<RpcException>(async () =>
            await a.Lock.AcquireAsync(new LockRequest { Name = "job", Lease = leaseC.Id, WaitMs = 1500 }));
        Assert.Equal(StatusCode.DeadlineExceeded, refused.StatusCode);
        await b.Lock.ReleaseAsync(new UnlockRequest { Key = second.Key });
        var third = await a.Lock.AcquireAsync(new LockRequest { Name = "job", Lease = leaseC.Id, WaitMs = 5000 });
        Assert.True(third.FencingToken > second.FencingToken);
    }

    [Fact]
    public async Task SigtermOfTheLeader_HandsLeadershipOver_BeforeExiting()
    {
        await using var cluster = AgentCluster.Start(output, 3);
        var leader = await cluster.WaitForLeaderAsync();
        await Calls.RetryWhileUnavailableAsync(() => leader.Kv.PutAsync(new PutRequest { Key = B("k"), Value = B("v") }).ResponseAsync);
        var started = DateTime.UtcNow;
        await leader.StopAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, leader.ExitCode);
        Assert.Contains("handed leadership to", leader.Output, StringComparison.Ordinal);
        var next = await cluster.WaitForLeaderAsync(not: leader);
        var elapsed = DateTime.UtcNow - started;
        output.WriteLine($"stop to agreed new leader: {elapsed.TotalMilliseconds:F0} ms");
        Assert.NotEqual(leader.Id, next.Id);
        var got = await next.Kv.GetAsync(new GetRequest { Key = B("k") });
        Assert.Equal("v", got.Kv.Value.ToStringUtf8());
    }

    [Fact]
    public async Task AJoiningMember_IsAddedAsLearner_CatchesUp_AndIsPromoted()
    {
        await using var cluster = AgentCluster.Start(output, 3);
        var leader = await cluster.WaitForLeaderAsync();
        for (var i = 0; i < 20; i++)
        {
            await Calls.RetryWhileUnavailableAsync(() => leader.Kv.PutAsync(new PutRequest { Key = B($"j/{i}"), Value = B("v") }).ResponseAsync);
        }

        var joiner = cluster.AddJoiner();
        var follower = cluster.Agents.First(a => a != leader && a != joiner);
        // Through a follower: the admin call is forwarded to the leader.
        var added = await Calls.RetryWhileUnavailableAsync(() =>
            follower.Admin.AddLearnerAsync(new AddLearnerRequest { Id = joiner.Id, Address = joiner.PeerAddress }).ResponseAsync);
        Assert.Contains(added.Members, m => m.Id == joiner.Id && !m.Voter);
        await WaitUntilAsync(async () =>
        {
            try
            {
                await leader.Admin.PromoteAsync(new PromoteRequest { Id = joiner.Id });
                return true;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
            {
                return false;
            }
        }, cluster);
        // The joiner applies its promotion a moment after the leader does.
        await WaitUntilAsync(async () => (await joiner.Admin.StatusAsync(new StatusRequest())).Members.Count(m => m.Voter) == 4, cluster);
        var range = await joiner.Kv.RangeAsync(new RangeRequest { Prefix = B("j/") });
        Assert.Equal(20, range.Kvs.Count);

        // And removed again.
        await Calls.RetryWhileUnavailableAsync(() => leader.Admin.RemoveMemberAsync(new RemoveMemberRequest { Id = joiner.Id }).ResponseAsync);
        var after = await leader.Admin.StatusAsync(new StatusRequest());
        Assert.DoesNotContain(after.Members, m => m.Id == joiner.Id);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, AgentCluster cluster, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (RpcException)
            {
                // Not up yet.
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("the condition did not hold in time:\n" + cluster.Dump());
    }
}
