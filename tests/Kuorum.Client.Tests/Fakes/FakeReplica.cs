using System.Net;
using Grpc.Core;
using Grpc.Health.V1;
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
/// A replica of "the application": a tiny gRPC server on 127.0.0.1 (HTTP/2, a port of its own) serving
/// grpc.health.v1 Check, counting the calls it answers, optionally after a delay (a slow replica).
/// </summary>
internal sealed class FakeReplica : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _calls;
    private int _disposed;

    private FakeReplica(WebApplication app, int port)
    {
        _app = app;
        AppAddress = $"127.0.0.1:{port}";
    }

    /// <summary>Where it serves: what its member publishes as app address.</summary>
    public string AppAddress { get; }

    /// <summary>Calls answered since the last <see cref="ResetCalls"/>.</summary>
    public int Calls => Volatile.Read(ref _calls);

    /// <summary>How long each call waits before answering.</summary>
    public TimeSpan Delay { get; set; }

    public static async Task<FakeReplica> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(1));
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        var holder = new ReplicaHolder();
        builder.Services.AddSingleton(holder);
        var app = builder.Build();
        app.MapGrpcService<CountingHealthService>();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        var replica = new FakeReplica(app, new Uri(address).Port);
        holder.Replica = replica;
        return replica;
    }

    public static async Task<FakeReplica[]> StartManyAsync(int count) =>
        await Task.WhenAll(Enumerable.Range(0, count).Select(_ => StartAsync()));

    public void ResetCalls() => Interlocked.Exchange(ref _calls, 0);

    /// <summary>Stops the server (a replica that went away); disposing twice is harmless.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class ReplicaHolder
    {
        public FakeReplica? Replica { get; set; }
    }

    private sealed class CountingHealthService(ReplicaHolder holder) : Health.HealthBase
    {
        public override async Task<HealthCheckResponse> Check(HealthCheckRequest request, ServerCallContext context)
        {
            var replica = holder.Replica!;
            Interlocked.Increment(ref replica._calls);
            if (replica.Delay > TimeSpan.Zero)
            {
                await Task.Delay(replica.Delay, context.CancellationToken);
            }

            return new HealthCheckResponse { Status = HealthCheckResponse.Types.ServingStatus.Serving };
        }
    }
}
