using Kuorum.Agent.Configuration;
using Kuorum.Demo;

namespace Kuorum.Agent.Tests;

/// <summary>The agent's settings: parsing from flags and environment, defaults, and refusals that name the setting.</summary>
public sealed class OptionsTests
{
    private static readonly Dictionary<string, string> _noEnvironment = [];

    private static AgentOptions Parse(params string[] args) => AgentOptions.Parse(args, _noEnvironment);

    [Fact]
    public void Defaults_AreFastFailoverTimings_AndThePeerListBootstraps()
    {
        var options = Parse("--node-id", "2", "--peers", "1=a:7400,2=b:7400,3=c:7400");
        Assert.Equal(TimeSpan.FromMilliseconds(50), options.HeartbeatInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.ElectionTimeout);
        Assert.Equal(10, options.ElectionTicks);
        Assert.Equal([1L, 2L, 3L], options.BootstrapMembers);
        Assert.Equal("b:7400", options.SelfAddress);
        Assert.Equal(7400, options.PeerPort);
    }

    [Fact]
    public void EnvironmentIsRead_AndTheCommandLineWins()
    {
        var env = new Dictionary<string, string>
        {
            ["KUORUM_NODE_ID"] = "1",
            ["KUORUM_PEERS"] = "1=a:1",
            ["KUORUM_HEARTBEAT_INTERVAL"] = "20ms",
            ["KUORUM_ELECTION_TIMEOUT"] = "1s",
        };
        var options = AgentOptions.Parse(["--election-timeout=300ms"], env);
        Assert.Equal(TimeSpan.FromMilliseconds(20), options.HeartbeatInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(300), options.ElectionTimeout);
    }

    [Fact]
    public void PodName_GivesTheNodeId_AndTheTemplateGivesAddresses()
    {
        var options = Parse("--pod-name", "orders-2", "--peer-address-template", "orders-{ordinal}.orders-peers.ns.svc:7400", "--bootstrap-members", "3");
        Assert.Equal(3, options.NodeId);
        Assert.Equal("orders-2.orders-peers.ns.svc:7400", options.SelfAddress);
        Assert.Equal("orders-4.orders-peers.ns.svc:7400", options.AddressOf(5));
        Assert.Equal([1L, 2L, 3L], options.BootstrapMembers);
    }

    [Theory]
    [InlineData("--node-id x", "--node-id is 'x'; it must be a whole number in 1..")]
    [InlineData("--node-id 1 --peers 1=a:1 --heartbeat-interval 300ms --election-timeout 500ms", "--election-timeout (500 ms) must be more than twice --heartbeat-interval (300 ms)")]
    [InlineData("--node-id 1 --peers 1=a:1 --heartbeat-interval fast", "--heartbeat-interval is 'fast'; it must be a duration such as 50ms")]
    [InlineData("--node-id 1 --peers 1=a:1 --election-timeout 2m", "--election-timeout is 2m; it must be between 20ms and 60s")]
    [InlineData("--node-id 1 --peers 1=a", "each member is id=host:port")]
    [InlineData("--node-id 4 --peers 1=a:1,2=b:1", "--peers does not list this node (4)")]
    [InlineData("--node-id 1 --peers 1=a:1 --peer-port 9 --api-port 9", "--peer-port and --api-port are both 9")]
    [InlineData("--node-id 1 --peers 1=a:1 --bind-address everywhere", "--bind-address is 'everywhere'; it must be an IP address")]
    [InlineData("--node-id 1 --peers 1=a:1 --colour blue", "unknown setting --colour")]
    [InlineData("--pod-name web", "--pod-name is 'web'; without --node-id it must end in -<ordinal>")]
    [InlineData("--peers 1=a:1", "the node id is not set")]
    [InlineData("--node-id 1 --peers 1=a:1 --log-level loud", "--log-level is 'loud'; it must be one of trace, debug")]
    public void BadSettings_AreRefused_NamingTheSettingAndWhatIsAllowed(string args, string message)
    {
        var error = Assert.Throws<OptionsException>(() => Parse(args.Split(' ')));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EnvironmentErrors_NameTheVariable()
    {
        var error = Assert.Throws<OptionsException>(() => AgentOptions.Parse([], new Dictionary<string, string> { ["KUORUM_NODE_ID"] = "1", ["KUORUM_PEERS"] = "1=a:1", ["KUORUM_MAX_TXN_OPS"] = "5000" }));
        Assert.Contains("KUORUM_MAX_TXN_OPS is '5000'; it must be a whole number in 1..1024", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheAgentProcess_StopsWithExitCode2_AndNamesTheBadSetting()
    {
        using var directory = new TempDir();
        await using var agent = new LocalAgent(1, directory.Path, []);
        agent.Start("1=127.0.0.1:1", "--election-timeout", "10ms");
        Assert.Equal(2, await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("--election-timeout is 10ms; it must be between 20ms and 60s", agent.Output, StringComparison.Ordinal);
    }

    private sealed class TempDir : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "kuorum-options-" + Guid.NewGuid().ToString("N"));

        public void Dispose()
        {
            if (Directory.Exists(Path))
            {
                Directory.Delete(Path, true);
            }
        }
    }
}
