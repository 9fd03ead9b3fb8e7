using Grpc.Net.Client.Balancer;

namespace Kuorum.Client;

/// <summary>
/// The attributes the <c>kuorum</c> resolver sets on each <see cref="BalancerAddress"/> it publishes: the member
/// behind the address and the table it comes from. The <c>kuorum</c> balancer reads them; a custom balancer can too.
/// </summary>
public static class KuorumAddressAttributes
{
    /// <summary>The member as listed in the table.</summary>
    public static BalancerAttributesKey<EndpointInfo> Endpoint { get; } = new("kuorum.endpoint");

    /// <summary>The member's node id.</summary>
    public static BalancerAttributesKey<long> MemberId { get; } = new("kuorum.member-id");

    /// <summary>The member's weight, 0 to 1,000.</summary>
    public static BalancerAttributesKey<int> Weight { get; } = new("kuorum.weight");

    /// <summary>The member application's health tier.</summary>
    public static BalancerAttributesKey<EndpointHealth> Health { get; } = new("kuorum.health");

    /// <summary>The member's Raft role.</summary>
    public static BalancerAttributesKey<MemberRole> Role { get; } = new("kuorum.role");

    /// <summary>The strategy to apply (the table's, or the one fixed by the channel target), normalized.</summary>
    public static BalancerAttributesKey<string> Strategy { get; } = new("kuorum.strategy");

    /// <summary>The version of the table the address comes from.</summary>
    public static BalancerAttributesKey<long> TableVersion { get; } = new("kuorum.table-version");
}
