using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Kuorum.Api.V1;
using Kuorum.Client.Tests.Fakes;
using Kuorum.Client.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using HealthCheckRequest = Grpc.Health.V1.HealthCheckRequest;
using HealthClient = Grpc.Health.V1.Health.HealthClient;

namespace Kuorum.Client.Tests.Balancing;

/// <summary>
/// End to end: three replicas of an application on 127.0.0.1, the fake sidecar publishing their app addresses and
/// weights, and a <see cref="GrpcChannel"/> to <c>kuorum:///</c> through the Kuorum resolver and balancer.
/// </summary>
[Collection(RunAlone.Name)]
public sealed class GrpcLoadBalancingTests : SidecarTest
{
    private FakeReplica[] _replicas = [];

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _replicas = await FakeReplica.StartManyAsync(3);
    }

    public override async Task DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            await replica.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    [Fact]
    public async Task Channel_WeightedTable_CallsFollowTheWeightsThenAWeightDroppedToZero()
    {
        Cluster.Endpoints.Publish("weighted", App(1, 500, Role.Leader), App(2, 300), App(3, 200));
        using var channel = KuorumLoadBalancing.CreateChannel(Client);
        var health = new HealthClient(channel);
        await WarmUpAsync(health);

        // Smooth weighted round-robin gives exact shares over every 1,000 consecutive picks.
        await CallAsync(health, 1_000);
        AssertCalls([500, 300, 200], tolerance: 5);

        Cluster.Endpoints.Publish("weighted", App(1, 500, Role.Leader), App(2, 300), App(3, 0));
        await FollowedAsync(health, () => _replicas[2].Calls == 0, "replica 3 gets no more calls");
        await CallAsync(health, 800);

        AssertCalls([500, 300, 0], tolerance: 5);
    }

    [Fact]
    public async Task Channel_TableSwitchesToLeaderOnly_EveryCallGoesToTheLeader()
    {
        Cluster.Endpoints.Publish("round-robin", App(1, 1000, Role.Leader), App(2, 10), App(3, 500));
        using var channel = KuorumLoadBalancing.CreateChannel(Client);
        var health = new HealthClient(channel);
        await WarmUpAsync(health);

        await CallAsync(health, 300);
        AssertCalls([100, 100, 100], tolerance: 2);

        Cluster.Endpoints.Publish("leader-only", App(1, 1000), App(2, 0, Role.Leader), App(3, 500));
        await FollowedAsync(health, () => _replicas[0].Calls == 0 && _replicas[2].Calls == 0, "only the leader gets calls");
        await CallAsync(health, 200);

        AssertCalls([0, 200, 0], tolerance: 0);
    }

    [Fact]
    public async Task Channel_LeastRequestWithOneSlowReplica_SlowReplicaGetsLittle()
    {
        Cluster.Endpoints.Publish("least-request", App(1, 500), App(2, 500), App(3, 500));
        using var channel = KuorumLoadBalancing.CreateChannel(Client);
        var health = new HealthClient(channel);
        await WarmUpAsync(health);
        _replicas[0].Delay = TimeSpan.FromMilliseconds(50);

        // Eight callers at once: the slow replica holds its calls longer, so it loses most comparisons.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => CallAsync(health, 60)));

        var calls = _replicas.Select(r => r.Calls).ToArray();
        Assert.Equal(480, calls.Sum());
        Assert.True(calls[0] < 480 / 10, $"the slow replica got {calls[0]} of 480 calls (round-robin would give it 160); all: {string.Join(", ", calls)}");
    }

    [Fact]
    public async Task Channel_TargetFixesTheStrategy_TableStrategyIgnored()
    {
        Cluster.Endpoints.Publish("weighted", App(1, 800), App(2, 100), App(3, 100));
        using var channel = KuorumLoadBalancing.CreateChannel(Client, EndpointStrategies.RoundRobin);
        var health = new HealthClient(channel);
        await WarmUpAsync(health);

        await CallAsync(health, 300);

        AssertCalls([100, 100, 100], tolerance: 2);
    }

    [Fact]
    public async Task Channel_EveryWeightZero_PanicUsesAllReplicas()
    {
        Cluster.Endpoints.Publish("weighted", App(1, 0), App(2, 0), App(3, 0));
        using var channel = KuorumLoadBalancing.CreateChannel(Client);
        var health = new HealthClient(channel);
        await WarmUpAsync(health);

        await CallAsync(health, 300);

        AssertCalls([100, 100, 100], tolerance: 2);
    }

    [Fact]
    public async Task Channel_WeightedReplicaUnreachable_PanicUsesTheReachableOnes()
    {
        await _replicas[0].DisposeAsync();
        Cluster.Endpoints.Publish("weighted", App(1, 1000), App(2, 0), App(3, 0));
        using var channel = KuorumLoadBalancing.CreateChannel(Client);
        var health = new HealthClient(channel);

        // Calls wait while replica 1 connects; once its connection has failed, the replicas that answer serve.
        await CallAsync(health, 100);

        Assert.Equal(100, _replicas[1].Calls + _replicas[2].Calls);
        Assert.True(_replicas[1].Calls > 0 && _replicas[2].Calls > 0, Counts());
    }

    [Fact]
    public async Task Channel_LeaderOnlyWithLeaderUnreachable_CallsFailUnavailable()
    {
        await _replicas[2].DisposeAsync();
        Cluster.Endpoints.Publish("leader-only", App(1, 1000), App(2, 1000), App(3, 1000, Role.Leader));
        using var channel = KuorumLoadBalancing.CreateChannel(Client);
        var health = new HealthClient(channel);

        var e = await Assert.ThrowsAsync<RpcException>(async () =>
            await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(10)));

        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Equal(0, _replicas[0].Calls + _replicas[1].Calls);
    }

    [Fact]
    public async Task Channel_TableWithoutAppAddresses_CallsFailUnavailable()
    {
        Cluster.Endpoints.Publish("weighted", new Member { Id = 1, Address = "127.0.0.1:1", Role = Role.Leader, Weight = 1000 });
        using var channel = KuorumLoadBalancing.CreateChannel(Client);
        var health = new HealthClient(channel);

        var e = await Assert.ThrowsAsync<RpcException>(async () =>
            await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(10)));

        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Contains("no member with an app address", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddKuorumLoadBalancing_RegisteredTwice_OneOfEachAndAChannelWorks()
    {
        Cluster.Endpoints.Publish("weighted", App(1, 0), App(2, 700), App(3, 0));
        await using var provider = new ServiceCollection()
            .AddSingleton(Client)
            .AddKuorumLoadBalancing()
            .AddKuorumLoadBalancing()
            .BuildServiceProvider();

        using var channel = GrpcChannel.ForAddress("kuorum:///", new GrpcChannelOptions
        {
            ServiceProvider = provider,
            Credentials = ChannelCredentials.Insecure,
        });
        await CallAsync(new HealthClient(channel), 20);

        Assert.IsType<KuorumResolverFactory>(Assert.Single(provider.GetServices<ResolverFactory>()));
        Assert.IsType<KuorumLoadBalancerFactory>(Assert.Single(provider.GetServices<LoadBalancerFactory>()));
        AssertCalls([0, 20, 0], tolerance: 0);
    }

    [Fact]
    public async Task ChannelDisposed_ResolverStopsWatchingTheTable()
    {
        Cluster.Endpoints.Publish("weighted", App(1, 1000), App(2, 1000), App(3, 1000));
        var channel = KuorumLoadBalancing.CreateChannel(Client);
        await CallAsync(new HealthClient(channel), 1);
        await Eventually.HoldsAsync(() => Cluster.Streams.Open("Endpoints.Watch") == 1, "the resolver's watch is open");

        channel.Dispose();

        await Eventually.HoldsAsync(() => Cluster.Streams.Open("Endpoints.Watch") == 0, "the resolver's watch closed");
    }

    [Fact]
    public void ForAddress_TargetWithUnknownStrategy_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => GrpcChannel.ForAddress("kuorum:///?strategy=fastest", new GrpcChannelOptions
        {
            ServiceProvider = KuorumLoadBalancing.CreateServiceProvider(Client),
            Credentials = ChannelCredentials.Insecure,
        }));

        Assert.Contains("fastest", e.Message, StringComparison.Ordinal);
    }

    private static async Task CallAsync(HealthClient health, int calls)
    {
        for (var i = 0; i < calls; i++)
        {
            await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
        }
    }

    private Member App(long id, int weight, Role role = Role.Follower) => new()
    {
        Id = id,
        Address = $"127.0.0.1:{7400 + id}",
        AppAddress = _replicas[id - 1].AppAddress,
        Role = role,
        Voter = true,
        Health = weight > 0 ? Api.V1.Health.Passing : Api.V1.Health.Critical,
        Weight = weight,
    };

    /// <summary>Calls until every replica that may be picked has answered (its subchannel is READY), then resets the counts.</summary>
    private async Task WarmUpAsync(HealthClient health)
    {
        var deadline = DateTime.UtcNow + Eventually.DefaultTimeout;
        var expected = Cluster.Endpoints.Current.Members;
        var panic = expected.All(m => m.Weight == 0);
        while (_replicas.Where((_, i) => panic || expected[i].Weight > 0).Any(r => r.Calls == 0))
        {
            Assert.True(DateTime.UtcNow < deadline, $"every replica answered within {Eventually.DefaultTimeout}: {Counts()}");
            await CallAsync(health, 10);
        }

        // Let the channel settle on the picker that has all three READY subchannels.
        await CallAsync(health, 50);
        Reset();
    }

    /// <summary>Calls in batches until a batch satisfies <paramref name="followed"/>, then resets the counts.</summary>
    private async Task FollowedAsync(HealthClient health, Func<bool> followed, string what)
    {
        var deadline = DateTime.UtcNow + Eventually.DefaultTimeout;
        while (true)
        {
            Reset();
            await CallAsync(health, 50);
            if (followed())
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the channel followed the new table ({what}) within {Eventually.DefaultTimeout}: {Counts()}");
        }

        Reset();
    }

    private void AssertCalls(int[] expected, int tolerance)
    {
        var calls = _replicas.Select(r => r.Calls).ToArray();
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(calls[i] - expected[i]) <= tolerance, $"replica {i + 1}: expected {expected[i]} ± {tolerance} calls, got {Counts()}");
        }
    }

    private void Reset()
    {
        foreach (var replica in _replicas)
        {
            replica.ResetCalls();
        }
    }

    private string Counts() => string.Join(", ", _replicas.Select((r, i) => $"{i + 1}: {r.Calls}"));
}
