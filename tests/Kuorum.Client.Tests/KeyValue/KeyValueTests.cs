using System.Text;
using Kuorum.Client.Tests.Support;

namespace Kuorum.Client.Tests.KeyValue;

public sealed class KeyValueTests : SidecarTest
{
    [Fact]
    public async Task PutAsync_ThenGet_ReturnsTheValueWithItsMetadata()
    {
        var revision = await Client.PutAsync("config/name", "orders");

        var entry = await Client.GetAsync("config/name");

        Assert.NotNull(entry);
        Assert.Equal("config/name", entry.Key.ToString());
        Assert.Equal("orders", entry.GetString());
        Assert.Equal(revision, entry.ModRevision);
        Assert.Equal(revision, entry.CreateRevision);
        Assert.Equal(1, entry.Version);
        Assert.Equal(0, entry.LeaseId);
    }

    [Fact]
    public async Task PutAsync_Twice_BumpsVersionAndModRevisionButNotCreateRevision()
    {
        var first = await Client.PutAsync("k", "1");
        var second = await Client.PutAsync("k", "2");

        var entry = await Client.GetAsync("k", ReadConsistency.Stale);

        Assert.True(second > first);
        Assert.Equal((first, second, 2L), (entry!.CreateRevision, entry.ModRevision, entry.Version));
    }

    [Fact]
    public async Task PutAsync_BinaryKeyAndValue_RoundTripsBytes()
    {
        byte[] key = [0xff, 0x00, 0x80];
        byte[] value = [1, 2, 3, 0];

        await Client.PutAsync(key, value);

        var entry = await Client.GetAsync(key);
        Assert.Equal(value, entry!.Value.ToArray());
        Assert.Equal(key, entry.Key.Bytes.ToArray());
    }

    [Fact]
    public async Task GetAsync_MissingKey_ReturnsNull()
    {
        Assert.Null(await Client.GetAsync("missing"));
        Assert.Null(await Client.GetStringAsync("missing"));
        Assert.Null(await Client.GetJsonAsync("missing", TestJsonContext.Default.ServiceConfig));
    }

    [Fact]
    public async Task PutJsonAsync_SourceGenerated_RoundTrips()
    {
        var config = new ServiceConfig("orders", 3);

        await Client.PutJsonAsync("config/orders", config, TestJsonContext.Default.ServiceConfig);

        Assert.Equal(config, await Client.GetJsonAsync("config/orders", TestJsonContext.Default.ServiceConfig));
        Assert.Equal("{\"Name\":\"orders\",\"Replicas\":3}", await Client.GetStringAsync("config/orders"));
    }

    [Fact]
    public async Task DeleteAsync_ExistingKey_ReturnsTrueThenFalse()
    {
        await Client.PutAsync("k", "v");

        Assert.True(await Client.DeleteAsync("k"));
        Assert.False(await Client.DeleteAsync("k"));
        Assert.Null(await Client.GetAsync("k"));
    }

    [Fact]
    public async Task RangeAsync_Prefix_ReturnsOnlyItsKeysInKeyOrder()
    {
        await Client.PutAsync("svc/b", "2");
        await Client.PutAsync("svc/a", "1");
        await Client.PutAsync("svc/c", "3");
        var last = await Client.PutAsync("other", "x");

        var result = await Client.RangeAsync("svc/");

        Assert.Equal(["svc/a", "svc/b", "svc/c"], result.Entries.Select(e => e.Key.ToString()));
        Assert.Equal(["1", "2", "3"], result.Entries.Select(e => e.GetString()));
        Assert.False(result.More);
        Assert.Equal(last, result.Revision);
    }

    [Fact]
    public async Task RangeAsync_LimitAndKeysOnly_ReturnsFewerKeysWithoutValuesAndSaysMore()
    {
        await Client.PutAsync("svc/a", "1");
        await Client.PutAsync("svc/b", "2");
        await Client.PutAsync("svc/c", "3");

        var result = await Client.RangeAsync("svc/", new RangeOptions { Limit = 2, KeysOnly = true, Consistency = ReadConsistency.Lease });

        Assert.Equal(["svc/a", "svc/b"], result.Entries.Select(e => e.Key.ToString()));
        Assert.All(result.Entries, e => Assert.True(e.Value.IsEmpty));
        Assert.True(result.More);
    }

    [Fact]
    public void KuorumKey_StringAndItsUtf8Bytes_AreEqual()
    {
        KuorumKey text = "clé";
        KuorumKey bytes = Encoding.UTF8.GetBytes("clé");

        Assert.Equal(text, bytes);
        Assert.True(text == bytes);
        Assert.Equal(text.GetHashCode(), bytes.GetHashCode());
        Assert.Equal(4, text.Length);
        Assert.True(default(KuorumKey).IsEmpty);
    }
}
