namespace Kuorum.Operator.Tests.Runtime;

public sealed class OperatorOptionsTests
{
    private static readonly Dictionary<string, string> Env = new() { ["POD_NAMESPACE"] = "kuorum-system", ["POD_NAME"] = "op-0" };

    [Fact]
    public void Parse_ChartArguments_AreAllUnderstood()
    {
        var options = OperatorOptions.Parse(
            ["--leader-elect=false", "--metrics-bind-address=:9090", "--health-probe-bind-address=127.0.0.1:9091", "--watch-namespace=apps",
             "--agent-image=registry/kuorum-agent:1.2", "--leader-election-namespace=elsewhere", "--kubeconfig", "/tmp/kc"],
            Env.GetValueOrDefault);
        Assert.False(options.LeaderElect);
        Assert.Equal(":9090", options.MetricsBindAddress);
        Assert.Equal("127.0.0.1:9091", options.HealthProbeBindAddress);
        Assert.Equal("apps", options.WatchNamespace);
        Assert.Equal("registry/kuorum-agent:1.2", options.AgentImage);
        Assert.Equal("elsewhere", options.LeaderElectionNamespace);
        Assert.Equal("/tmp/kc", options.Kubeconfig);
        Assert.Equal("op-0", options.Identity);
    }

    [Fact]
    public void Parse_Defaults_ComeFromTheContractAndEnvironment()
    {
        var options = OperatorOptions.Parse([], Env.GetValueOrDefault);
        Assert.True(options.LeaderElect);
        Assert.Equal(":8080", options.MetricsBindAddress);
        Assert.Equal(":8081", options.HealthProbeBindAddress);
        Assert.Equal("", options.WatchNamespace);
        Assert.Equal("kuorum-system", options.LeaderElectionNamespace);
    }

    [Theory]
    [InlineData("--leader-elect=maybe", "--leader-elect")]
    [InlineData("--metrics-bind-address=8080", "--metrics-bind-address")]
    [InlineData("--nonsense=1", "--nonsense")]
    public void Parse_BadArgument_NamesIt(string argument, string named)
    {
        var error = Assert.Throws<ArgumentException>(() => OperatorOptions.Parse([argument], Env.GetValueOrDefault));
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_LeaderElectionWithoutNamespace_SaysWhatToSet()
    {
        var error = Assert.Throws<ArgumentException>(() => OperatorOptions.Parse([], _ => null));
        Assert.Contains("POD_NAMESPACE", error.Message, StringComparison.Ordinal);
    }
}
