using Kuorum.Client.Tests.Support;

namespace Kuorum.Client.Tests.KeyValue;

public sealed class TransactionTests : SidecarTest
{
    [Fact]
    public async Task CompareAndSwapAsync_ExpectedRevision_SwapsAndReturnsTheNewRevision()
    {
        var revision = await Client.PutAsync("counter", "1");

        var result = await Client.CompareAndSwapAsync("counter", revision, "2");

        Assert.True(result.Succeeded);
        Assert.Null(result.Current);
        var entry = await Client.GetAsync("counter");
        Assert.Equal("2", entry!.GetString());
        Assert.Equal(result.Revision, entry.ModRevision);
    }

    [Fact]
    public async Task CompareAndSwapAsync_StaleRevision_FailsAndReturnsTheCurrentEntry()
    {
        var stale = await Client.PutAsync("counter", "1");
        var current = await Client.PutAsync("counter", "5");

        var result = await Client.CompareAndSwapAsync("counter", stale, "2");

        Assert.False(result.Succeeded);
        Assert.Equal("5", result.Current!.GetString());
        Assert.Equal(current, result.Current.ModRevision);
        Assert.Equal("5", await Client.GetStringAsync("counter"));
    }

    [Fact]
    public async Task CompareAndSwapAsync_ZeroOnAMissingKey_CreatesIt()
    {
        var result = await Client.CompareAndSwapAsync("leader-config", 0, "v1");

        Assert.True(result.Succeeded);
        Assert.Equal("v1", await Client.GetStringAsync("leader-config"));
    }

    [Fact]
    public async Task CompareAndSwapAsync_ZeroOnAnExistingKey_FailsWithoutWriting()
    {
        await Client.PutAsync("k", "first");

        var result = await Client.CompareAndSwapAsync("k", 0, "second");

        Assert.False(result.Succeeded);
        Assert.Equal("first", result.Current!.GetString());
    }

    [Fact]
    public async Task CompareAndSwapJsonAsync_LoopUntilSuccess_AppliesEveryIncrement()
    {
        var json = TestJsonContext.Default.ServiceConfig;
        await Client.PutJsonAsync("cfg", new ServiceConfig("orders", 1), json);
        var other = NewClient();

        await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => IncrementAsync(other)));
        await IncrementAsync(Client);

        Assert.Equal(7, (await Client.GetJsonAsync("cfg", json))!.Replicas);

        async Task IncrementAsync(KuorumClient client)
        {
            var entry = await client.GetAsync("cfg");
            while (true)
            {
                var config = entry!.GetJson(json)!;
                var result = await client.CompareAndSwapJsonAsync("cfg", entry.ModRevision, config with { Replicas = config.Replicas + 1 }, json);
                if (result.Succeeded)
                {
                    return;
                }

                entry = result.Current;
            }
        }
    }

    [Fact]
    public async Task CompareAndDeleteAsync_ExpectedThenStaleRevision_DeletesOnlyOnce()
    {
        var revision = await Client.PutAsync("k", "v");

        var deleted = await Client.CompareAndDeleteAsync("k", revision);
        await Client.PutAsync("k", "again");
        var refused = await Client.CompareAndDeleteAsync("k", revision);

        Assert.True(deleted.Succeeded);
        Assert.False(refused.Succeeded);
        Assert.Equal("again", refused.Current!.GetString());
    }

    [Fact]
    public async Task Transaction_AllComparesHold_RunsThenBranchAtOneRevision()
    {
        await Client.PutAsync("a", "1");
        await Client.PutAsync("b", "2");

        var result = await Client.Transaction()
            .IfValue("a", CompareOperator.Equal, "1")
            .IfExists("b")
            .IfMissing("c")
            .IfVersion("a", CompareOperator.Less, 5)
            .ThenPut("c", "3")
            .ThenDelete("b")
            .ThenGet("a")
            .ElsePut("failed", "yes")
            .CommitAsync();

        Assert.True(result.Succeeded);
        Assert.Equal([TransactionOpKind.Put, TransactionOpKind.Delete, TransactionOpKind.Get], result.Results.Select(r => r.Kind));
        Assert.Equal(1, result.Results[1].Deleted);
        Assert.Equal("1", result.Results[2].Entry!.GetString());
        Assert.Equal(result.Revision, (await Client.GetAsync("c"))!.ModRevision);
        Assert.Null(await Client.GetAsync("b"));
        Assert.Null(await Client.GetAsync("failed"));
    }

    [Fact]
    public async Task Transaction_ACompareFails_RunsElseBranch()
    {
        var revision = await Client.PutAsync("a", "1");

        var result = await Client.Transaction()
            .IfModRevision("a", CompareOperator.Greater, revision)
            .ThenPut("a", "never")
            .ElseGet("a")
            .ElseGet("missing")
            .CommitAsync();

        Assert.False(result.Succeeded);
        Assert.Equal("1", result.Results[0].Entry!.GetString());
        Assert.Null(result.Results[1].Entry);
        Assert.Equal("1", await Client.GetStringAsync("a"));
    }

    [Fact]
    public async Task Transaction_PutBoundToALease_KeyCarriesTheLease()
    {
        await using var lease = await Client.GrantLeaseAsync(TimeSpan.FromSeconds(5));

        await Client.Transaction().IfMissing("owner").ThenPut("owner", "me", lease.Id).CommitAsync();

        Assert.Equal(lease.Id, (await Client.GetAsync("owner"))!.LeaseId);
    }
}
