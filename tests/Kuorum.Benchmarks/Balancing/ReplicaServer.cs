using System.Net;
using Grpc.Core;
using Grpc.Health.V1;
using Kuorum.Benchmarks.Balancing.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Kuorum.Benchmarks.Balancing;

/// <summary>
/// One replica of the application, hosted in the benchmark process: a gRPC server on 127.0.0.1 (h2c, a port of its
/// own) with a fixed number of workers. <c>Replica/Work</c> waits for a free worker, holds it for the service time and
/// answers which replica served it, so a replica that is ten times slower also has a tenth of the capacity and builds
/// a queue when it is sent more than it can serve, as a real one would. <c>grpc.health.v1.Health/Check</c> (what the
/// agent beside it probes) takes the service time too, but not a worker: the probe sees how slow the replica is, not
/// how much the current strategy happens to queue on it, so every strategy runs against the same weights.
/// </summary>
/// <remarks>The service time is a timer wait (no CPU is burned: the two cores are shared with the agents and the clients).</remarks>
public sealed class ReplicaServer : IAsyncDisposable
{
    private readonly SemaphoreSlim _workers;
    private WebApplication? _app;
    private long _serviceTicks;
    private long _served;
    private volatile bool _failing;

    private ReplicaServer(int member, int workers, TimeSpan serviceTime)
    {
        Member = member;
        Workers = workers;
        _workers = new SemaphoreSlim(workers, workers);
        ServiceTime = serviceTime;
    }

    /// <summary>The member id of the agent beside it (1..3).</summary>
    public int Member { get; }

    /// <summary>Calls served at once; more wait for a worker.</summary>
    public int Workers { get; }

    /// <summary>host:port where it serves: the agent probes it and publishes it as the member's app address.</summary>
    public string Address { get; private set; } = "";

    /// <summary>The port of <see cref="Address"/>.</summary>
    public int Port { get; private set; }

    /// <summary>How long a call holds a worker (and how long a health check takes).</summary>
    public TimeSpan ServiceTime
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _serviceTicks));
        set => Interlocked.Exchange(ref _serviceTicks, value.Ticks);
    }

    /// <summary>When true, health checks answer NOT_SERVING (the application failing); work is still served.</summary>
    public bool Failing
    {
        get => _failing;
        set => _failing = value;
    }

    /// <summary>Work calls served since start.</summary>
    public long Served => Interlocked.Read(ref _served);

    /// <summary>Starts replica <paramref name="member"/> on a free loopback port.</summary>
    public static async Task<ReplicaServer> StartAsync(int member, int workers, TimeSpan serviceTime, CancellationToken cancellationToken)
    {
        var replica = new ReplicaServer(member, workers, serviceTime);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(1));
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(replica);
        var app = builder.Build();
        app.MapGrpcService<WorkService>();
        app.MapGrpcService<HealthService>();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        replica._app = app;
        replica.Port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()).Port;
        replica.Address = $"127.0.0.1:{replica.Port}";
        return replica;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync().ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }

        _workers.Dispose();
    }

    private async Task<WorkReply> WorkAsync(CancellationToken cancellationToken)
    {
        await _workers.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await Task.Delay(ServiceTime, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _workers.Release();
        }

        Interlocked.Increment(ref _served);
        return new WorkReply { Replica = Member };
    }

    private sealed class WorkService(ReplicaServer replica) : V1.Replica.ReplicaBase
    {
        public override Task<WorkReply> Work(WorkRequest request, ServerCallContext context) => replica.WorkAsync(context.CancellationToken);
    }

    private sealed class HealthService(ReplicaServer replica) : Health.HealthBase
    {
        public override async Task<HealthCheckResponse> Check(HealthCheckRequest request, ServerCallContext context)
        {
            if (replica.Failing)
            {
                return new HealthCheckResponse { Status = HealthCheckResponse.Types.ServingStatus.NotServing };
            }

            await Task.Delay(replica.ServiceTime, context.CancellationToken).ConfigureAwait(false);
            return new HealthCheckResponse { Status = HealthCheckResponse.Types.ServingStatus.Serving };
        }
    }
}
