using System.Net;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Kuorum.Agent.Configuration;
using Kuorum.Agent.Kubernetes;
using Kuorum.Agent.Node;
using Kuorum.Agent.Security;
using Kuorum.Agent.Services;
using Kuorum.Agent.Transport;
using Kuorum.Storage;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using OpenTelemetry.Metrics;

namespace Kuorum.Agent.Hosting;

/// <summary>
/// Puts the agent together: storage and Raft loop, peer transport, and one Kestrel server with three doors: the peer
/// port (HTTP/2: Raft streams, forwarded calls, Admin), the application API (HTTP/2 on 127.0.0.1 and an optional
/// Unix socket: kuorum.v1, health, reflection) and the admin port (HTTP/1.1: /metrics, /healthz, /readyz). Each
/// door serves only its own paths. With the <c>--peer-tls-*</c> settings the peer port is HTTPS with mutual TLS
/// (<see cref="PeerCertificates"/>) and so are the agent's own calls to its peers.
/// </summary>
public static class AgentHost
{
    /// <summary>Runs the agent until SIGTERM/SIGINT or a fatal storage error; returns the process exit code.</summary>
    public static async Task<int> RunAsync(AgentOptions options, CancellationToken cancellationToken = default)
    {
        // The certificate files are settings too: a missing, mismatched or expired one stops the agent like a bad flag.
        PeerCertificates? peerTls = null;
        if (options.PeerTls is { } tlsSettings)
        {
            try
            {
                peerTls = PeerCertificates.Load(tlsSettings);
            }
            catch (OptionsException e)
            {
                await Console.Error.WriteLineAsync($"kuorum-agent: {e.Message}").ConfigureAwait(false);
                return 2;
            }
        }

        using var peerTlsLifetime = peerTls;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.Logging.SetMinimumLevel(Enum.Parse<LogLevel>(options.LogLevel, ignoreCase: true));
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("Grpc", LogLevel.Warning);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownTransferTimeout + TimeSpan.FromSeconds(2));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.Http2.MaxStreamsPerConnection = 1000;
            kestrel.Limits.MaxRequestBodySize = 64 << 20;
            kestrel.Listen(options.BindAddress, options.PeerPort, l =>
            {
                l.Protocols = HttpProtocols.Http2;
                if (peerTls is not null)
                {
                    l.UseHttps(new TlsHandshakeCallbackOptions
                    {
                        OnConnection = context => ValueTask.FromResult(peerTls.ServerOptions(context.Connection.RemoteEndPoint)),
                        HandshakeTimeout = TimeSpan.FromSeconds(5),
                    });
                }
            });
            kestrel.Listen(IPAddress.Loopback, options.ApiPort, l => l.Protocols = HttpProtocols.Http2);
            if (options.ApiSocket.Length > 0)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(options.ApiSocket))!);
                File.Delete(options.ApiSocket);
                kestrel.ListenUnixSocket(options.ApiSocket, l => l.Protocols = HttpProtocols.Http2);
            }

            kestrel.Listen(options.BindAddress, options.AdminPort, l => l.Protocols = HttpProtocols.Http1);
        });

        var metrics = new AgentMetrics();
        var holder = new HostHolder();
        builder.Services.AddSingleton(holder);
        builder.Services.AddSingleton(sp => sp.GetRequiredService<HostHolder>().Host);
        builder.Services.AddSingleton(metrics);
        builder.Services.AddSingleton<HealthServiceImpl>();
        builder.Services.AddGrpc(o =>
        {
            o.Interceptors.Add<ErrorInterceptor>();
            o.MaxReceiveMessageSize = 64 << 20;
        });
        builder.Services.AddGrpcReflection();
        builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(AgentMetrics.MeterName).AddPrometheusExporter());

        var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Kuorum.Agent");
        if (peerTls is not null)
        {
            peerTls.Logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Kuorum.PeerTls");
            peerTls.StartWatching();
        }

        var transport = new PeerTransport(options.NodeId, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Kuorum.Transport"), peerTls);
        try
        {
            holder.Host = await RaftHost.OpenAsync(options, transport, metrics, TimeProvider.System,
                app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Kuorum.Raft"), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is StorageCorruptionException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"kuorum-agent: cannot open the data directory {options.DataDirectory}: {e.Message}").ConfigureAwait(false);
            await transport.DisposeAsync().ConfigureAwait(false);
            return 1;
        }

        var host = holder.Host;
        metrics.Observe(() => host.View, transport, host);
        MapEndpoints(app, options, host);

        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        lifetime.ApplicationStopping.Register(() =>
        {
            host.HandOverAsync(options.ShutdownTransferTimeout).GetAwaiter().GetResult();
            host.BeginShutdown();
        });

        // Listen first, then tick: the first election's messages find this node's port open.
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        host.Start();
        await using var reporter = new HealthReporter(host, metrics, TimeProvider.System,
            app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Kuorum.Health"));
        reporter.Start();
        var health = PublishHealthAsync(host, app.Services.GetRequiredService<HealthServiceImpl>(), lifetime.ApplicationStopping);
        await using var labeler = PodLabeler.FromEnvironment(options.PodName, options.PodNamespace,
            app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Kuorum.PodLabeler"));
        var labelling = labeler is null ? Task.CompletedTask : LabelPodAsync(host, labeler, lifetime.ApplicationStopping);
        logger.LogInformation("node {Id} serving: peers on {Bind}:{Peer}, API on 127.0.0.1:{Api}{Socket}, admin on {Bind}:{Admin}",
            options.NodeId, options.BindAddress, options.PeerPort, options.ApiPort,
            options.ApiSocket.Length > 0 ? " and " + options.ApiSocket : "", options.BindAddress, options.AdminPort);
        LogPeerSecurity(logger, options, peerTls);

        var exitCode = 0;
        var stopped = await Task.WhenAny(app.WaitForShutdownAsync(cancellationToken), host.Completion).ConfigureAwait(false);
        if (stopped == host.Completion)
        {
            exitCode = host.Completion.IsFaulted ? 1 : 0;
            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }

        await health.ConfigureAwait(false);
        await labelling.ConfigureAwait(false);
        await host.DisposeAsync().ConfigureAwait(false);
        await transport.DisposeAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
        metrics.Dispose();
        return exitCode;
    }

    private static void LogPeerSecurity(ILogger logger, AgentOptions options, PeerCertificates? peerTls)
    {
        if (peerTls is null)
        {
            logger.LogInformation("peer port {Peer}: plaintext HTTP/2, no mutual TLS (set --peer-tls-cert, --peer-tls-key and --peer-tls-ca for it)", options.PeerPort);
            return;
        }

        var certificate = peerTls.Certificate;
        logger.LogInformation("peer port {Peer}: mutual TLS, certificate {Certificate} valid until {NotAfter:u}, peers must chain to the {Count} CA certificate(s) in {CaFile}; the files are checked for changes every {Interval} s",
            options.PeerPort, PeerCertificates.Describe(certificate), certificate.NotAfter.ToUniversalTime(), peerTls.Authorities.Count,
            peerTls.Settings.CaFile, peerTls.CheckInterval.TotalSeconds);
        var self = options.SelfAddress;
        var host = new Uri("https://" + self).Host.Trim('[', ']');
        if (!peerTls.Names(host))
        {
            logger.LogWarning("peer TLS: the certificate does not name {Host}, the host of this agent's peer address {Address}, in a subject alternative name; peers will refuse to connect to it",
                host, self);
        }
    }

    private static void MapEndpoints(WebApplication app, AgentOptions options, RaftHost host)
    {
        // Each port serves only its own paths; the Unix socket (local port 0) is the application's door.
        app.Use((context, next) =>
        {
            var port = context.Connection.LocalPort;
            var path = context.Request.Path.Value ?? "";
            var allowed = port == options.PeerPort
                ? path.StartsWith("/kuorum.peer.v1.", StringComparison.Ordinal) || path.StartsWith("/kuorum.v1.Admin/", StringComparison.Ordinal) || path.StartsWith("/grpc.health.v1.", StringComparison.Ordinal)
                : port == options.AdminPort
                    ? path is "/metrics" or "/healthz" or "/readyz"
                    : !path.StartsWith("/kuorum.peer.v1.", StringComparison.Ordinal) && path is not ("/metrics" or "/healthz" or "/readyz");
            if (!allowed)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }

            return next(context);
        });

        app.MapGrpcService<PeerService>();
        app.MapGrpcService<KeyValueService>();
        app.MapGrpcService<LeaseService>();
        app.MapGrpcService<LockService>();
        app.MapGrpcService<LeadershipService>();
        app.MapGrpcService<EndpointsService>();
        app.MapGrpcService<AdminService>();
        app.MapGrpcService<HealthServiceImpl>();
        app.MapGrpcReflectionService();
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapGet("/healthz", () => host.Completion.IsCompleted
            ? Results.Text("the Raft loop stopped\n", statusCode: StatusCodes.Status503ServiceUnavailable)
            : Results.Text("ok\n"));
        app.MapGet("/readyz", () => host.View.NotReadyReason is { } reason
            ? Results.Text(reason + "\n", statusCode: StatusCodes.Status503ServiceUnavailable)
            : Results.Text("ready\n"));
    }

    // The leader labels its pod kuorum.io/role=leader (with the term), the others follower or learner, so a Service
    // selecting the label routes to the leader.
    private static async Task LabelPodAsync(RaftHost host, PodLabeler labeler, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            var changed = host.LeadershipChanged.Next;
            var view = host.View;
            await labeler.SetRoleAsync(PodLabeler.RoleOf(view.IsLeader, view.IsLearner), view.Term, stopping).ConfigureAwait(false);
            try
            {
                await changed.WaitAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    // grpc.health.v1: SERVING while the agent is ready (a member, a leader known, caught up).
    private static async Task PublishHealthAsync(RaftHost host, HealthServiceImpl health, CancellationToken stopping)
    {
        string[] services = ["", "kuorum.v1.KeyValue", "kuorum.v1.Leadership", "kuorum.v1.Lease", "kuorum.v1.Lock", "kuorum.v1.Endpoints", "kuorum.v1.Admin"];
        while (!stopping.IsCancellationRequested)
        {
            var changed = host.LeadershipChanged.Next;
            var status = host.View.NotReadyReason is null ? HealthCheckResponse.Types.ServingStatus.Serving : HealthCheckResponse.Types.ServingStatus.NotServing;
            foreach (var service in services)
            {
                health.SetStatus(service, status);
            }

            try
            {
                await Task.WhenAny(changed, Task.Delay(host.Options.HeartbeatInterval * 4, stopping)).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        foreach (var service in services)
        {
            health.SetStatus(service, HealthCheckResponse.Types.ServingStatus.NotServing);
        }
    }

    private sealed class HostHolder
    {
        public RaftHost Host { get; set; } = null!;
    }
}
