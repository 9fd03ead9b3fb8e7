using k8s;
using k8s.Models;
using Kuorum.Operator.Runtime;
using Kuorum.Operator.Tests.Emulation;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kuorum.Operator.Tests.Runtime;

/// <summary>The informer against the API server emulation: dropped watches resume, 410 Gone relists, nothing is missed.</summary>
public sealed class InformerTests : IAsyncLifetime
{
    private const string Ns = "w";
    private ApiServerEmulation _api = null!;
    private Kubernetes _client = null!;

    public async Task InitializeAsync()
    {
        _api = await ApiServerEmulation.StartAsync();
        _client = new Kubernetes(_api.ClientConfiguration("informer"));
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _api.DisposeAsync();
    }

    [Fact]
    public async Task DroppedWatch_ResumesFromLastResourceVersion_WithoutRelistOrMissedEvents()
    {
        var (informer, seen, metrics) = NewInformer();
        using var cts = new CancellationTokenSource();
        var run = informer.RunAsync(cts.Token);
        await Create("a");
        await Create("b");
        await Eventually.TrueAsync(() => informer.Cache.Count == 2, "two objects cached");
        var lists = ListRequests();

        for (var round = 0; round < 3; round++)
        {
            _api.Store.EndAllWatches();
            await Update("a", $"v{round}");
            await Create($"n{round}");
        }

        await _client.CoreV1.DeleteNamespacedConfigMapAsync("b", Ns);
        await Eventually.TrueAsync(() => CacheMatchesStore(informer), "the cache to match the store");
        Assert.Equal("v2", informer.Cache.Get(Ns, "a")!.Data["k"]);
        Assert.Contains(seen, e => e == "Deleted b");
        Assert.Equal(lists, ListRequests()); // resumed, never listed again
        await cts.CancelAsync();
        await run;
        metrics.Dispose();
    }

    [Fact]
    public async Task ExpiredResourceVersion_410_RelistsAndReportsWhatChangedMeanwhile()
    {
        var (informer, seen, metrics) = NewInformer();
        using (var first = new CancellationTokenSource())
        {
            var run = informer.RunAsync(first.Token);
            await Create("keep");
            await Create("drop");
            await Eventually.TrueAsync(() => informer.Cache.Count == 2, "two objects cached");
            await first.CancelAsync();
            await run;
        }

        // While the informer is away the object changes and etcd compacts: its resourceVersion is too old.
        await Update("keep", "changed");
        await _client.CoreV1.DeleteNamespacedConfigMapAsync("drop", Ns);
        await Create("new");
        _api.Store.Compact();
        var lists = ListRequests();

        using var second = new CancellationTokenSource();
        var again = informer.RunAsync(second.Token);
        await Eventually.TrueAsync(() => CacheMatchesStore(informer), "the cache to match the store after 410");
        Assert.Equal(lists + 1, ListRequests());
        Assert.Equal("changed", informer.Cache.Get(Ns, "keep")!.Data["k"]);
        Assert.Contains("Deleted drop", seen);
        Assert.Contains("Added new", seen);
        Assert.Contains("Modified keep", seen);

        // And it keeps watching after the relist.
        await Update("keep", "later");
        await Eventually.TrueAsync(() => informer.Cache.Get(Ns, "keep")?.Data["k"] == "later", "a change after the relist");
        await second.CancelAsync();
        await again;
        metrics.Dispose();
    }

    [Fact]
    public async Task FailingServer_RetriesWithBackoff_ThenSyncs()
    {
        await Create("x");
        _api.Faults.FailNext(5, 503);
        var (informer, _, metrics) = NewInformer();
        using var cts = new CancellationTokenSource();
        var run = informer.RunAsync(cts.Token);
        await Eventually.TrueAsync(() => informer.HasSynced && informer.Cache.Count == 1, "sync after the failures");
        Assert.Equal(5, _api.Requests.Count(r => r.Status == 503));
        await cts.CancelAsync();
        await run;
        metrics.Dispose();
    }

    private (Informer<V1ConfigMap, V1ConfigMapList> Informer, List<string> Seen, OperatorMetrics Metrics) NewInformer()
    {
        var metrics = new OperatorMetrics();
        var informer = new Informer<V1ConfigMap, V1ConfigMapList>(_client, Kinds.ConfigMaps, Ns, null,
            new InformerSettings { InitialRetryDelay = TimeSpan.FromMilliseconds(20), MaxRetryDelay = TimeSpan.FromMilliseconds(200), MinWatchTimeout = TimeSpan.FromSeconds(30) },
            metrics, NullLogger.Instance);
        var seen = new List<string>();
        informer.AddHandler(e =>
        {
            lock (seen)
            {
                seen.Add($"{e.Type} {e.Object.Metadata.Name}");
            }
        });
        return (informer, seen, metrics);
    }

    private bool CacheMatchesStore(Informer<V1ConfigMap, V1ConfigMapList> informer)
    {
        var (items, _) = _api.Store.List(EmulatedResources.ConfigMaps, Ns, LabelSelector.Everything);
        var expected = items.Select(i => $"{i["metadata"]!["name"]}@{i["metadata"]!["resourceVersion"]}").Order().ToList();
        var actual = informer.Cache.List(Ns).Select(c => $"{c.Metadata.Name}@{c.Metadata.ResourceVersion}").Order().ToList();
        return expected.SequenceEqual(actual);
    }

    private int ListRequests() => _api.Requests.Count(r => r.Method == "GET" && !r.Query.Contains("watch=true", StringComparison.Ordinal) && r.Path.EndsWith("/configmaps", StringComparison.Ordinal));

    private Task Create(string name) => _client.CoreV1.CreateNamespacedConfigMapAsync(
        new V1ConfigMap { Metadata = new V1ObjectMeta { Name = name }, Data = new Dictionary<string, string> { ["k"] = "v" } }, Ns);

    private async Task Update(string name, string value)
    {
        var current = await _client.CoreV1.ReadNamespacedConfigMapAsync(name, Ns);
        current.Data["k"] = value;
        await _client.CoreV1.ReplaceNamespacedConfigMapAsync(current, name, Ns);
    }
}
