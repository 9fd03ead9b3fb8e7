using Kuorum.Api.V1;
using Kuorum.Client.Tests.Support;

namespace Kuorum.Client.Tests.Endpoints;

public sealed class KuorumEndpointPickerTests : SidecarTest
{
    [Fact]
    public async Task CreateEndpointPicker_FollowsTheTableAndItsStrategy()
    {
        Cluster.Endpoints.Publish("round-robin", App(1, 1000, Role.Leader), App(2, 1000), App(3, 0));
        await using var picker = Client.CreateEndpointPicker();

        var first = await Eventually.WithinAsync(picker.WaitForTableAsync(), "the first table");

        Assert.Equal(2, first.Version);
        Assert.Equal("round-robin", picker.Strategy);
        Assert.Equal(new Dictionary<long, int> { [1] = 500, [2] = 500 }, Distribution.Count(1_000, () => picker.Pick()!.Id));

        Cluster.Endpoints.Publish("leader-only", App(1, 1000), App(2, 0, Role.Leader), App(3, 1000));
        await Eventually.HoldsAsync(() => picker.Snapshot?.Version == 3, "version 3 applied");

        Assert.Equal("leader-only", picker.Strategy);
        Assert.Equal(new Dictionary<long, int> { [2] = 100 }, Distribution.Count(100, () => picker.Pick()!.Id));
    }

    [Fact]
    public async Task CreateEndpointPicker_UnknownTableStrategy_WeightedAndAWarning()
    {
        Cluster.Endpoints.Publish("fastest", App(1, 3), App(2, 1));
        await using var picker = Client.CreateEndpointPicker();

        await Eventually.WithinAsync(picker.WaitForTableAsync(), "the first table");

        Assert.Equal(EndpointStrategies.Weighted, picker.Strategy);
        Assert.Equal(new Dictionary<long, int> { [1] = 300, [2] = 100 }, Distribution.Count(400, () => picker.Pick()!.Id));
        Assert.Contains(Logs.Lines, line => line.Contains("UnknownStrategy", StringComparison.Ordinal) && line.Contains("fastest", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CreateEndpointPicker_FixedStrategy_TableStrategyIgnored()
    {
        Cluster.Endpoints.Publish("leader-only", App(1, 1000, Role.Leader), App(2, 1000));
        await using var picker = Client.CreateEndpointPicker("Round-Robin");

        await Eventually.WithinAsync(picker.WaitForTableAsync(), "the first table");

        Assert.Equal("round-robin", picker.Strategy);
        Assert.Equal(new Dictionary<long, int> { [1] = 50, [2] = 50 }, Distribution.Count(100, () => picker.Pick()!.Id));
        Assert.Throws<ArgumentException>(() => Client.CreateEndpointPicker("fastest"));
    }

    [Fact]
    public async Task StrategyChange_InFlightRequestsCarriedOver()
    {
        Cluster.Endpoints.Publish("least-request", App(1, 1000));
        await using var picker = Client.CreateEndpointPicker();
        await Eventually.WithinAsync(picker.WaitForTableAsync(), "the first table");
        var lease = picker.StartRequest()!;

        Cluster.Endpoints.Publish("weighted", App(1, 1000), App(2, 1000));
        await Eventually.HoldsAsync(() => picker.Strategy == "weighted", "the strategy changed");

        Assert.Equal(1, picker.InFlight(AppAddress(1)));
        lease.Dispose();
        Assert.Equal(0, picker.InFlight(AppAddress(1)));
    }

    [Fact]
    public async Task StreamBroken_PickerKeepsTheTableAndResumes()
    {
        Cluster.Endpoints.Publish("weighted", App(1, 1000));
        await using var picker = Client.CreateEndpointPicker();
        await Eventually.WithinAsync(picker.WaitForTableAsync(), "the first table");

        Cluster.Streams.BreakAll();
        Assert.Equal(1, picker.Pick()!.Id);
        Cluster.Endpoints.Publish("weighted", App(2, 1000));

        await Eventually.HoldsAsync(() => picker.Pick()?.Id == 2, "the picker follows the table after the break");
    }

    [Fact]
    public async Task ClientDisposed_PickerStopsWatching()
    {
        var client = NewClient();
        var picker = client.CreateEndpointPicker();
        await Eventually.WithinAsync(picker.WaitForTableAsync(), "the first table");
        await Eventually.HoldsAsync(() => Cluster.Streams.Open("Endpoints.Watch") == 1, "the watch is open");

        await client.DisposeAsync();

        await Eventually.HoldsAsync(() => Cluster.Streams.Open("Endpoints.Watch") == 0, "the watch closed");
        Assert.Equal(1, picker.Snapshot!.Version);
    }

    private static string AppAddress(long id) => $"10.0.1.{id}:8080";

    private static Member App(long id, int weight, Role role = Role.Follower) => new()
    {
        Id = id, Address = $"10.0.0.{id}:7400", AppAddress = AppAddress(id), Role = role, Voter = true, Weight = weight,
        Health = weight > 0 ? Api.V1.Health.Passing : Api.V1.Health.Critical, LatencyUs = 800,
    };
}
