using Kuorum.Api.V1;
using Kuorum.Client.Tests.Support;

namespace Kuorum.Client.Tests.Endpoints;

public sealed class EndpointsTests : SidecarTest
{
    [Fact]
    public async Task ListEndpointsAsync_Table_ReturnsMembersWithRoleHealthAndWeight()
    {
        Cluster.Endpoints.Publish("weighted", Leader(), Follower(2, Api.V1.Health.Warning, weight: 250));

        var snapshot = await Client.ListEndpointsAsync();

        Assert.Equal(2, snapshot.Version);
        Assert.Equal("weighted", snapshot.Strategy);
        var leader = snapshot.Members[0];
        Assert.Equal((1L, "10.0.0.1:7400", MemberRole.Leader, true, EndpointHealth.Passing, 1000), (leader.Id, leader.Address, leader.Role, leader.IsVoter, leader.Health, leader.Weight));
        Assert.Equal(TimeSpan.FromMilliseconds(1.5), leader.RoundTripTime);
        Assert.Equal(("10.0.1.1:8080", TimeSpan.FromMilliseconds(2.5)), (leader.AppAddress, leader.Latency));
        Assert.Equal((string.Empty, (TimeSpan?)null), (snapshot.Members[1].AppAddress, snapshot.Members[1].Latency));
        Assert.Equal((EndpointHealth.Warning, 250), (snapshot.Members[1].Health, snapshot.Members[1].Weight));
        Assert.Null(snapshot.Members[1].RoundTripTime);
    }

    [Fact]
    public async Task WatchEndpointsAsync_StreamBroken_ReconnectsWithoutRepeatingAVersion()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var tables = Client.WatchEndpointsAsync(stop.Token).GetAsyncEnumerator(stop.Token);
        Assert.True(await Eventually.WithinAsync(tables.MoveNextAsync().AsTask(), "the first table"));
        Assert.Equal(1, tables.Current.Version);

        Cluster.Endpoints.Publish("weighted", Leader());
        Assert.True(await Eventually.WithinAsync(tables.MoveNextAsync().AsTask(), "version 2"));
        Assert.Equal(2, tables.Current.Version);

        var pending = tables.MoveNextAsync().AsTask();
        Cluster.Streams.BreakAll();
        await Eventually.HoldsAsync(() => Cluster.Calls("Endpoints.Watch") == 2 && Cluster.Streams.Open("Endpoints.Watch") == 1, "the watch reopened");
        Assert.False(pending.IsCompleted, "version 2 is not delivered twice");
        Cluster.Endpoints.Publish("weighted", Leader(), Follower(2, Api.V1.Health.Passing, weight: 500));

        Assert.True(await Eventually.WithinAsync(pending, "version 3"));
        Assert.Equal(3, tables.Current.Version);
        Assert.Equal(2, tables.Current.Members.Count);
    }

    private static Member Leader() => new()
    {
        Id = 1, Address = "10.0.0.1:7400", Role = Role.Leader, Voter = true, Health = Api.V1.Health.Passing, Weight = 1000, RttUs = 1500,
        AppAddress = "10.0.1.1:8080", LatencyUs = 2500,
    };

    private static Member Follower(long id, Api.V1.Health health, int weight) => new()
    {
        Id = id, Address = $"10.0.0.{id}:7400", Role = Role.Follower, Voter = true, Health = health, Weight = weight,
    };
}
