using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Kuorum.Client.Tests.Fakes;

/// <summary>
/// A fake Kuorum sidecar: an in-process Kestrel gRPC server on 127.0.0.1 (and a Unix socket) serving the
/// kuorum.v1 services and grpc.health.v1 from an in-memory <see cref="FakeCluster"/>. No Raft, no persistence;
/// it can be stopped and started again with its state, and its streams broken on demand.
/// </summary>
internal sealed class FakeSidecar : IAsyncDisposable
{
    private WebApplication? _app;
    private int _port;

    private FakeSidecar(FakeCluster cluster, string socketPath)
    {
        Cluster = cluster;
        SocketPath = socketPath;
    }

    public FakeCluster Cluster { get; }

    /// <summary>The Unix socket it listens on (it exists only while the server runs).</summary>
    public string SocketPath { get; }

    /// <summary>Its TCP address, fixed at the first start and kept across restarts.</summary>
    public Uri Address => new($"http://127.0.0.1:{_port}");

    public bool IsRunning => _app is not null;

    /// <summary>A fake that is not running yet: start it with <see cref="StartAsync"/> (its port is chosen then).</summary>
    public static FakeSidecar Create(FakeCluster? cluster = null) =>
        new(cluster ?? new FakeCluster(), Path.Combine(Path.GetTempPath(), $"kuorum-fake-{Guid.NewGuid():N}.sock"));

    public static async Task<FakeSidecar> StartNewAsync(FakeCluster? cluster = null)
    {
        var sidecar = Create(cluster);
        await sidecar.StartAsync();
        return sidecar;
    }

    /// <summary>Client options for the TCP address.</summary>
    public KuorumClientOptions TcpOptions() => WithFastRetries(new KuorumClientOptions { Address = Address });

    /// <summary>Client options for the Unix socket.</summary>
    public KuorumClientOptions SocketOptions() => WithFastRetries(new KuorumClientOptions { SocketPath = SocketPath });

    public async Task StartAsync()
    {
        if (_app is not null)
        {
            throw new InvalidOperationException("the fake sidecar is already running");
        }

        File.Delete(SocketPath);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(1));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, _port, o => o.Protocols = HttpProtocols.Http2);
            kestrel.ListenUnixSocket(SocketPath, o => o.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(Cluster);
        var app = builder.Build();
        app.MapGrpcService<FakeKeyValueService>();
        app.MapGrpcService<FakeLeaseService>();
        app.MapGrpcService<FakeLockService>();
        app.MapGrpcService<FakeLeadershipService>();
        app.MapGrpcService<FakeEndpointsService>();
        app.MapGrpcService<FakeHealthService>();
        await app.StartAsync();
        if (_port == 0)
        {
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
            _port = addresses.Select(a => new Uri(a)).First(u => u.Scheme == Uri.UriSchemeHttp && u.Host == "127.0.0.1").Port;
        }

        _app = app;
    }

    /// <summary>Stops the server as a crashing agent would: open streams are reset, then the listeners close.</summary>
    public async Task StopAsync()
    {
        var app = _app;
        if (app is null)
        {
            return;
        }

        _app = null;
        Cluster.Streams.BreakAll();
        await app.StopAsync();
        await app.DisposeAsync();
        File.Delete(SocketPath);
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private static KuorumClientOptions WithFastRetries(KuorumClientOptions options)
    {
        options.RetryInitialDelay = TimeSpan.FromMilliseconds(20);
        options.RetryMaxDelay = TimeSpan.FromMilliseconds(200);
        return options;
    }
}
