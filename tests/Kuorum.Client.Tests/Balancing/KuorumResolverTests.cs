using System.Net;
using Grpc.Core;
using Kuorum.Client.Internal;
using Kuorum.Client.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kuorum.Client.Tests.Balancing;

public sealed class KuorumResolverTests : SidecarTest
{
    [Theory]
    [InlineData("127.0.0.1:8080", "127.0.0.1", 8080)]
    [InlineData(" app-1.orders.svc:50051 ", "app-1.orders.svc", 50051)]
    [InlineData("[::1]:5000", "::1", 5000)]
    [InlineData("[::1]", "::1", 80)]
    [InlineData("::1", "::1", 80)]
    [InlineData("orders", "orders", 80)]
    [InlineData("http://10.1.2.3:9000", "10.1.2.3", 9000)]
    [InlineData("http://10.1.2.3", "10.1.2.3", 80)]
    public void AppAddress_Valid_Parsed(string text, string host, int port)
    {
        Assert.True(AppAddress.TryParse(text, 80, out var endPoint));

        Assert.Equal(new DnsEndPoint(host, port), endPoint);
    }

    [Theory]
    [InlineData("")]
    [InlineData("host:")]
    [InlineData("host:0")]
    [InlineData("host:70000")]
    [InlineData("host:http")]
    [InlineData(":8080")]
    [InlineData("[::1")]
    [InlineData("[::1]8080")]
    [InlineData("two words:80")]
    public void AppAddress_Invalid_Rejected(string text)
    {
        Assert.False(AppAddress.TryParse(text, 80, out _));
    }

    [Theory]
    [InlineData("kuorum:///", null)]
    [InlineData("kuorum:///?strategy=least-request", "least-request")]
    [InlineData("kuorum:///orders?x=1&Strategy=Round-Robin", "round-robin")]
    public void FixedStrategy_FromTarget(string target, string? expected)
    {
        Assert.Equal(expected, KuorumResolverFactory.FixedStrategy(new Uri(target)));
    }

    [Fact]
    public void Target_Strategy_NormalizedIntoTheQuery()
    {
        Assert.Equal("kuorum:///", KuorumLoadBalancing.Target());
        Assert.Equal("kuorum:///?strategy=weighted", KuorumLoadBalancing.Target("Weighted"));
        Assert.Throws<ArgumentException>(() => KuorumLoadBalancing.Target("fastest"));
    }

    [Fact]
    public void ToResult_Table_OneAddressPerUsableAppAddressWithTheMembersAttributes()
    {
        using var resolver = new KuorumResolver(Client, fixedStrategy: null, defaultPort: 80, NullLogger.Instance);
        var snapshot = new EndpointSnapshot(7, "Least-Request", [
            new EndpointInfo { Id = 1, AppAddress = "10.0.0.1:8080", Weight = 1000, Role = MemberRole.Leader, Health = EndpointHealth.Passing },
            new EndpointInfo { Id = 2, AppAddress = "10.0.0.2:8080", Weight = 0, Health = EndpointHealth.Critical },
            new EndpointInfo { Id = 3, AppAddress = string.Empty, Weight = 1000 },
            new EndpointInfo { Id = 4, AppAddress = "10.0.0.1:8080", Weight = 1000 },
            new EndpointInfo { Id = 5, AppAddress = "not an address:x", Weight = 1000 },
        ]);

        var result = resolver.ToResult(snapshot);

        Assert.Equal(StatusCode.OK, result.Status.StatusCode);
        Assert.Equal(KuorumLoadBalancing.PolicyName, Assert.Single(result.ServiceConfig!.LoadBalancingConfigs).PolicyName);
        Assert.Equal([new DnsEndPoint("10.0.0.1", 8080), new DnsEndPoint("10.0.0.2", 8080)], result.Addresses!.Select(a => a.EndPoint));
        var critical = result.Addresses![1].Attributes;
        Assert.True(critical.TryGetValue(KuorumAddressAttributes.Weight, out var weight) && weight == 0);
        Assert.True(critical.TryGetValue(KuorumAddressAttributes.Health, out var health) && health == EndpointHealth.Critical);
        Assert.True(critical.TryGetValue(KuorumAddressAttributes.MemberId, out var id) && id == 2);
        Assert.True(critical.TryGetValue(KuorumAddressAttributes.Strategy, out var strategy) && strategy == "least-request");
        Assert.True(critical.TryGetValue(KuorumAddressAttributes.TableVersion, out var version) && version == 7);
        var leader = result.Addresses[0].Attributes;
        Assert.True(leader.TryGetValue(KuorumAddressAttributes.Role, out var role) && role == MemberRole.Leader);
        Assert.True(leader.TryGetValue(KuorumAddressAttributes.Endpoint, out var endpoint) && endpoint.Id == 1);
    }

    [Fact]
    public void ToResult_UnknownStrategy_FallsBackToWeighted()
    {
        using var resolver = new KuorumResolver(Client, fixedStrategy: null, defaultPort: 80, NullLogger.Instance);

        var result = resolver.ToResult(new EndpointSnapshot(3, "fastest", [new EndpointInfo { Id = 1, AppAddress = "h:1", Weight = 5 }]));

        Assert.True(result.Addresses![0].Attributes.TryGetValue(KuorumAddressAttributes.Strategy, out var strategy));
        Assert.Equal(EndpointStrategies.Fallback, strategy);
    }

    [Fact]
    public void ToResult_FixedStrategy_OverridesTheTables()
    {
        using var resolver = new KuorumResolver(Client, fixedStrategy: "random", defaultPort: 80, NullLogger.Instance);

        var result = resolver.ToResult(new EndpointSnapshot(3, "leader-only", [new EndpointInfo { Id = 1, AppAddress = "h:1", Weight = 5 }]));

        Assert.True(result.Addresses![0].Attributes.TryGetValue(KuorumAddressAttributes.Strategy, out var strategy));
        Assert.Equal("random", strategy);
    }

    [Fact]
    public void ToResult_NoAppAddress_FailsUnavailable()
    {
        using var resolver = new KuorumResolver(Client, fixedStrategy: null, defaultPort: 80, NullLogger.Instance);

        var result = resolver.ToResult(new EndpointSnapshot(4, "weighted", [new EndpointInfo { Id = 1, Weight = 5 }]));

        Assert.Equal(StatusCode.Unavailable, result.Status.StatusCode);
        Assert.Null(result.Addresses);
    }
}
