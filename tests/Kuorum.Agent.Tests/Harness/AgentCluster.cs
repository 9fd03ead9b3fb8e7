using Kuorum.Demo;
using Xunit.Abstractions;

namespace Kuorum.Agent.Tests.Harness;

/// <summary>
/// A cluster of real agent processes on loopback for one test: <see cref="LocalCluster"/> (the launcher <c>make run</c>
/// uses) with the test timing, joiners, and every agent's output written to the test's log at the end.
/// </summary>
public sealed class AgentCluster : IAsyncDisposable
{
    /// <summary>Timing every test cluster uses: the defaults.</summary>
    public static readonly string[] Timing = ["--heartbeat-interval", "50ms", "--election-timeout", "500ms"];

    private readonly ITestOutputHelper _output;
    private readonly LocalCluster _cluster;

    private AgentCluster(ITestOutputHelper output, LocalCluster cluster)
    {
        _output = output;
        _cluster = cluster;
    }

    /// <summary>The agents; agent i has id i + 1.</summary>
    public List<LocalAgent> Agents => _cluster.Agents;

    /// <summary>id=host:port of every agent.</summary>
    public string Peers => _cluster.Peers;

    /// <summary>The CA of a mutual-TLS cluster (null when plaintext).</summary>
    public LocalCertificateAuthority? Tls => _cluster.Tls;

    /// <summary>Starts <paramref name="size"/> agents that bootstrap one cluster, each with <paramref name="args"/> added.</summary>
    public static AgentCluster Start(ITestOutputHelper output, int size, params string[] args) => Start(output, size, _ => args);

    /// <summary>Starts <paramref name="size"/> agents that bootstrap one cluster, agent <c>i</c> with <paramref name="argsOf"/>(i) added.</summary>
    public static AgentCluster Start(ITestOutputHelper output, int size, Func<long, string[]> argsOf) =>
        new(output, LocalCluster.Start(size, id => [.. Timing, .. argsOf(id)]));

    /// <summary>
    /// Describes <paramref name="size"/> agents whose peer ports use mutual TLS (certificates from a throwaway CA, see
    /// <see cref="Tls"/>), agent <c>i</c> with <paramref name="argsOf"/>(i) added; nothing runs until <see cref="StartAll"/>,
    /// so a test may replace a certificate first.
    /// </summary>
    public static AgentCluster CreateMutualTls(ITestOutputHelper output, int size, Func<long, string[]>? argsOf = null) =>
        new(output, LocalCluster.Create(size, id => [.. Timing, .. argsOf?.Invoke(id) ?? []], mutualTls: true));

    /// <summary>Starts <paramref name="size"/> agents with mutual TLS on their peer ports, each with <paramref name="args"/> added.</summary>
    public static AgentCluster StartMutualTls(ITestOutputHelper output, int size, params string[] args)
    {
        var cluster = CreateMutualTls(output, size, _ => args);
        cluster.StartAll();
        return cluster;
    }

    /// <summary>Starts every agent, bootstrapping one cluster.</summary>
    public void StartAll() => _cluster.StartAll();

    /// <summary>Adds an agent process that starts empty (joining); the caller adds it to the configuration.</summary>
    public LocalAgent AddJoiner(params string[] args)
    {
        var agent = _cluster.AddAgent([.. Timing, .. args]);
        agent.Start(Peers, "--join", "true");
        return agent;
    }

    /// <summary>Waits until every running agent names the same running leader (not <paramref name="not"/>).</summary>
    public Task<LocalAgent> WaitForLeaderAsync(TimeSpan? timeout = null, LocalAgent? not = null) =>
        _cluster.WaitForLeaderAsync(timeout ?? TimeSpan.FromSeconds(20), not);

    /// <summary>The agents' output, for a failure message.</summary>
    public string Dump() => _cluster.Dump();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _output.WriteLine(Dump());
        await _cluster.DisposeAsync();
    }
}
