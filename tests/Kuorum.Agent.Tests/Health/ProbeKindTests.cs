using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Kuorum.Agent.Health;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Kuorum.Agent.Tests.Health;

/// <summary>Each probe kind against a real application on 127.0.0.1: success, failure, refusal and timeout.</summary>
public sealed class ProbeKindTests
{
    private static readonly TimeSpan _timeout = TimeSpan.FromMilliseconds(300);

    // Timers may fire a little before a stopwatch says the time is up.
    private static readonly TimeSpan _timerSlack = TimeSpan.FromMilliseconds(30);

    /// <summary>A generous timeout, so that a cold start on a busy machine does not pass for a timeout.</summary>
    private static ProbeSettings Settings(ProbeKind kind, int port) =>
        new() { Kind = kind, Port = port, Path = "/healthz", Period = TimeSpan.FromSeconds(10), Timeout = TimeSpan.FromSeconds(5), SlowThreshold = TimeSpan.Zero };

    /// <summary>The short timeout the timeout tests wait for.</summary>
    private static ProbeSettings Short(ProbeKind kind, int port) => Settings(kind, port) with { Timeout = _timeout };

    /// <summary>A port nothing listens on (bound, then released).</summary>
    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static async Task<(ProbeResult Result, TimeSpan Took)> TimedAsync(IProbe probe)
    {
        var clock = Stopwatch.StartNew();
        var result = await probe.ProbeAsync(CancellationToken.None);
        return (result, clock.Elapsed);
    }

    [Theory]
    [InlineData(200, true)]
    [InlineData(204, true)]
    [InlineData(302, true)]
    [InlineData(399, true)]
    [InlineData(404, false)]
    [InlineData(500, false)]
    [InlineData(503, false)]
    public async Task Http_Status200To399_Succeeds_OthersFail(int status, bool success)
    {
        await using var app = await LocalApplication.StartAsync();
        app.HttpStatus = status;
        using var probe = new HttpProbe(Settings(ProbeKind.Http, app.HttpPort));
        var result = await probe.ProbeAsync(CancellationToken.None);
        Assert.Equal($"HTTP {status}", result.Detail);
        Assert.Equal(success, result.Success);
        Assert.InRange(result.Latency, TimeSpan.FromTicks(1), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Http_GetsTheConfiguredPath()
    {
        await using var app = await LocalApplication.StartAsync();
        using var probe = new HttpProbe(Settings(ProbeKind.Http, app.HttpPort) with { Path = "/elsewhere" });
        Assert.Equal(new Uri($"http://127.0.0.1:{app.HttpPort}/elsewhere"), probe.Uri);
        var result = await probe.ProbeAsync(CancellationToken.None);
        Assert.False(result.Success);
        Assert.Equal("HTTP 404", result.Detail);
    }

    [Fact]
    public async Task Http_SlowApplication_TimesOutAtTheTimeout()
    {
        await using var app = await LocalApplication.StartAsync();
        app.Delay = TimeSpan.FromSeconds(10);
        using var probe = new HttpProbe(Short(ProbeKind.Http, app.HttpPort));
        var (result, took) = await TimedAsync(probe);
        Assert.Equal(ProbeResult.TimedOut(_timeout), result);
        Assert.Equal("timed out after 300 ms", result.Detail);
        Assert.InRange(took, _timeout - _timerSlack, TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task Http_AcceptedButNeverAnswered_TimesOut()
    {
        // A server that accepts the connection and says nothing: the probe must not wait for it.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        using var probe = new HttpProbe(Short(ProbeKind.Http, ((IPEndPoint)silent.LocalEndpoint).Port));
        var (result, took) = await TimedAsync(probe);
        Assert.False(result.Success);
        Assert.Equal("timed out after 300 ms", result.Detail);
        Assert.InRange(took, _timeout - _timerSlack, TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task Http_NothingListening_FailsAsRefused()
    {
        using var probe = new HttpProbe(Settings(ProbeKind.Http, ClosedPort()));
        var result = await probe.ProbeAsync(CancellationToken.None);
        Assert.False(result.Success);
        Assert.Equal("connection refused", result.Detail);
    }

    [Fact]
    public async Task Tcp_Listening_Succeeds_AndClosedPortFails()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var open = await new TcpProbe(Settings(ProbeKind.Tcp, ((IPEndPoint)listener.LocalEndpoint).Port)).ProbeAsync(CancellationToken.None);
        Assert.True(open.Success);
        Assert.Equal("connected", open.Detail);

        var closed = await new TcpProbe(Settings(ProbeKind.Tcp, ClosedPort())).ProbeAsync(CancellationToken.None);
        Assert.False(closed.Success);
        Assert.Equal("connection refused", closed.Detail);
    }

    [Fact]
    public async Task Tcp_ListenerWithAFullBacklog_TimesOut()
    {
        // Nobody accepts, and the kernel drops connection requests beyond the backlog: the connect hangs.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(0);
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var probe = new TcpProbe(Short(ProbeKind.Tcp, port));
        var fillers = new List<Socket>();
        try
        {
            ProbeResult result;
            var attempts = 0;
            do
            {
                var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                fillers.Add(filler);
                _ = filler.ConnectAsync(IPAddress.Loopback, port);
                (result, var took) = await TimedAsync(probe);
                if (!result.Success)
                {
                    Assert.InRange(took, _timeout - _timerSlack, TimeSpan.FromSeconds(3));
                }
            }
            while (result.Success && ++attempts < 8);

            Assert.Equal(ProbeResult.TimedOut(_timeout), result);
        }
        finally
        {
            fillers.ForEach(f => f.Dispose());
        }
    }

    [Fact]
    public async Task Grpc_Serving_Succeeds_NotServingAndUnknownServicesFail()
    {
        await using var app = await LocalApplication.StartAsync();
        using var probe = new GrpcHealthProbe(Settings(ProbeKind.Grpc, app.GrpcPort));
        var serving = await probe.ProbeAsync(CancellationToken.None);
        Assert.True(serving.Success, serving.Detail);
        Assert.Equal("gRPC health Serving", serving.Detail);

        app.Health.SetStatus("", ServingStatus.NotServing);
        var notServing = await probe.ProbeAsync(CancellationToken.None);
        Assert.False(notServing.Success);
        Assert.Equal("gRPC health NotServing", notServing.Detail);

        app.Health.SetStatus("orders.v1.Orders", ServingStatus.Serving);
        using var named = new GrpcHealthProbe(Settings(ProbeKind.Grpc, app.GrpcPort) with { Service = "orders.v1.Orders" });
        Assert.True((await named.ProbeAsync(CancellationToken.None)).Success);

        using var unknown = new GrpcHealthProbe(Settings(ProbeKind.Grpc, app.GrpcPort) with { Service = "nobody.Here" });
        var missing = await unknown.ProbeAsync(CancellationToken.None);
        Assert.False(missing.Success);
        Assert.StartsWith("gRPC NotFound", missing.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Grpc_SlowApplication_TimesOut()
    {
        await using var app = await LocalApplication.StartAsync();
        using var warm = new GrpcHealthProbe(Settings(ProbeKind.Grpc, app.GrpcPort));
        Assert.True((await warm.ProbeAsync(CancellationToken.None)).Success);

        using var probe = new GrpcHealthProbe(Short(ProbeKind.Grpc, app.GrpcPort));
        app.Delay = TimeSpan.FromSeconds(10);
        var (result, took) = await TimedAsync(probe);
        Assert.Equal(ProbeResult.TimedOut(_timeout), result);
        Assert.InRange(took, _timeout - _timerSlack, TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task Grpc_NothingListening_FailsAsUnavailable()
    {
        using var probe = new GrpcHealthProbe(Settings(ProbeKind.Grpc, ClosedPort()));
        var result = await probe.ProbeAsync(CancellationToken.None);
        Assert.False(result.Success);
        Assert.StartsWith("gRPC Unavailable", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CallerCancellation_IsNotAFailure_ItThrows()
    {
        await using var app = await LocalApplication.StartAsync();
        app.Delay = TimeSpan.FromSeconds(10);
        using var probe = new HttpProbe(Settings(ProbeKind.Http, app.HttpPort));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => probe.ProbeAsync(cancel.Token));
    }
}
