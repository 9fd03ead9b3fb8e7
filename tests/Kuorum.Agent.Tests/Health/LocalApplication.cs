using System.Net;
using Grpc.HealthCheck;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Kuorum.Agent.Tests.Health;

/// <summary>
/// A stand-in application on 127.0.0.1 (Kestrel): HTTP/1.1 <c>/healthz</c> answering <see cref="HttpStatus"/> after
/// <see cref="Delay"/>, and <c>grpc.health.v1</c> over HTTP/2 from Grpc.HealthCheck's <see cref="HealthServiceImpl"/>
/// (also delayed by <see cref="Delay"/>).
/// </summary>
internal sealed class LocalApplication : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ListenOptions _http;
    private readonly ListenOptions _grpc;

    private LocalApplication(WebApplication app, ListenOptions http, ListenOptions grpc, DelayedHealthService health)
    {
        _app = app;
        _http = http;
        _grpc = grpc;
        Health = health;
    }

    public int HttpPort => _http.IPEndPoint!.Port;

    public int GrpcPort => _grpc.IPEndPoint!.Port;

    /// <summary>The gRPC health service: set statuses with <see cref="HealthServiceImpl.SetStatus"/>.</summary>
    public DelayedHealthService Health { get; }

    public int HttpStatus { get; set; } = 200;

    public TimeSpan Delay
    {
        get => Health.Delay;
        set => Health.Delay = value;
    }

    public static async Task<LocalApplication> StartAsync()
    {
        ListenOptions? http = null, grpc = null;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(1));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0, o => (http = o).Protocols = HttpProtocols.Http1);
            kestrel.Listen(IPAddress.Loopback, 0, o => (grpc = o).Protocols = HttpProtocols.Http2);
        });
        var health = new DelayedHealthService();
        health.SetStatus("", ServingStatus.Serving);
        builder.Services.AddGrpc();
        builder.Services.AddSingleton<HealthServiceImpl>(health);
        var app = builder.Build();
        LocalApplication? self = null;
        app.Map("/healthz", async context =>
        {
            await Task.Delay(self!.Delay, context.RequestAborted);
            context.Response.StatusCode = self.HttpStatus;
        });
        app.MapGrpcService<HealthServiceImpl>();
        self = new LocalApplication(app, http!, grpc!, health);
        await app.StartAsync();
        return self;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>Grpc.HealthCheck's service with an answer delay, for timeouts.</summary>
    internal sealed class DelayedHealthService : HealthServiceImpl
    {
        public TimeSpan Delay { get; set; }

        public override async Task<Grpc.Health.V1.HealthCheckResponse> Check(Grpc.Health.V1.HealthCheckRequest request, Grpc.Core.ServerCallContext context)
        {
            await Task.Delay(Delay, context.CancellationToken);
            return await base.Check(request, context);
        }
    }
}
