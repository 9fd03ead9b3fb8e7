namespace Kuorum.Client.Tests;

public sealed class KuorumClientOptionsTests
{
    [Fact]
    public void FromEnvironment_SocketVariable_UsesTheSocket()
    {
        var options = KuorumClientOptions.FromEnvironment(Variables(socket: "/tmp/agent.sock"));

        Assert.Equal("/tmp/agent.sock", options.SocketPath);
        Assert.Null(options.Address);
        Assert.Equal("unix:/tmp/agent.sock", options.Validate().Description);
    }

    [Fact]
    public void FromEnvironment_AddressVariable_UsesTheAddress()
    {
        var options = KuorumClientOptions.FromEnvironment(Variables(address: "http://127.0.0.1:9000"));

        Assert.Equal(new Uri("http://127.0.0.1:9000"), options.Address);
        Assert.Null(options.SocketPath);
    }

    [Fact]
    public void FromEnvironment_BothVariables_ThrowsNamingBoth()
    {
        var error = Assert.Throws<ArgumentException>(
            () => KuorumClientOptions.FromEnvironment(Variables(socket: "/tmp/agent.sock", address: "http://127.0.0.1:9000")));

        Assert.Contains(KuorumClientOptions.SocketVariable, error.Message);
        Assert.Contains(KuorumClientOptions.AddressVariable, error.Message);
    }

    [Theory]
    [InlineData("127.0.0.1:7401")]
    [InlineData("ftp://127.0.0.1:7401")]
    public void FromEnvironment_AddressNotHttp_ThrowsNamingTheVariable(string address)
    {
        var error = Assert.Throws<ArgumentException>(() => KuorumClientOptions.FromEnvironment(Variables(address: address)));

        Assert.Contains(KuorumClientOptions.AddressVariable, error.Message);
        Assert.Contains("http://", error.Message);
    }

    [Fact]
    public void FromEnvironment_Nothing_UsesTheDefaults()
    {
        var endpoint = KuorumClientOptions.FromEnvironment(Variables()).Validate();

        var expected = File.Exists(KuorumClientOptions.DefaultSocketPath)
            ? $"unix:{KuorumClientOptions.DefaultSocketPath}"
            : new Uri(KuorumClientOptions.DefaultAddress).ToString();
        Assert.Equal(expected, endpoint.Description);
    }

    [Fact]
    public void Constructor_MaxReadAttemptsZero_ThrowsNamingTheSetting()
    {
        var error = Assert.Throws<ArgumentException>(() => new KuorumClient(new KuorumClientOptions { MaxReadAttempts = 0 }));

        Assert.Contains(nameof(KuorumClientOptions.MaxReadAttempts), error.Message);
    }

    [Fact]
    public void Constructor_MaxDelayBelowInitialDelay_ThrowsNamingBoth()
    {
        var options = new KuorumClientOptions { RetryInitialDelay = TimeSpan.FromSeconds(2), RetryMaxDelay = TimeSpan.FromSeconds(1) };

        var error = Assert.Throws<ArgumentException>(() => new KuorumClient(options));

        Assert.Contains(nameof(KuorumClientOptions.RetryMaxDelay), error.Message);
        Assert.Contains(nameof(KuorumClientOptions.RetryInitialDelay), error.Message);
    }

    [Fact]
    public void Constructor_SocketAndAddress_ThrowsNamingBoth()
    {
        var options = new KuorumClientOptions { SocketPath = "/tmp/a.sock", Address = new Uri("http://127.0.0.1:1") };

        var error = Assert.Throws<ArgumentException>(() => new KuorumClient(options));

        Assert.Contains(nameof(KuorumClientOptions.SocketPath), error.Message);
        Assert.Contains(nameof(KuorumClientOptions.Address), error.Message);
    }

    private static Func<string, string?> Variables(string? socket = null, string? address = null) => name => name switch
    {
        KuorumClientOptions.SocketVariable => socket,
        KuorumClientOptions.AddressVariable => address,
        _ => null,
    };
}
