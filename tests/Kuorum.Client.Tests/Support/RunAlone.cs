namespace Kuorum.Client.Tests.Support;

/// <summary>
/// Test classes that keep both cores busy (many thousands of picks, hundreds of gRPC calls through three local
/// servers) run in this collection: after the others and never beside them, so that the timing-sensitive tests
/// (lease renewals every TTL/3) are not starved on a two-core machine.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunAlone
{
    public const string Name = "busy tests, run alone";
}
