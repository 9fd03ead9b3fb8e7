using Kuorum.Operator.Tests.Emulation;

namespace Kuorum.Operator.Tests.EndToEnd;

/// <summary>
/// A fact that needs root and iproute2 (network namespaces, veth, a bridge), as the pod network emulation does. It is
/// skipped, saying why, where neither is available; CI runs as root. Tests using it also carry
/// <c>[Trait("Requires", "root")]</c> and end in <c>_NeedsRoot</c>, so <c>dotnet test --filter "Requires!=root"</c>
/// leaves them out.
/// </summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (PodNetworkEmulation.WhyUnavailable() is { } why)
        {
            Skip = "the end-to-end pod network emulation " + why;
        }
    }
}
