using System.Diagnostics.Metrics;
using System.Net;
using k8s;
using Kuorum.Operator.Admin;
using Kuorum.Operator.Reconciliation;
using Kuorum.Operator.Runtime;
using OpenTelemetry.Metrics;

namespace Kuorum.Operator;

/// <summary>Builds and runs the operator process: Kestrel for /metrics, /healthz and /readyz, and the leader-elected controllers.</summary>
internal static class OperatorHost
{
    public static async Task<int> RunAsync(OperatorOptions options)
    {
        KubernetesClientConfiguration config;
        try
        {
            config = Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST") is { Length: > 0 }
                ? KubernetesClientConfiguration.InClusterConfig()
                : KubernetesClientConfiguration.BuildConfigFromConfigFile(options.Kubeconfig);
        }
        catch (Exception e)
        {
            await Console.Error.WriteLineAsync($"kuorum-operator: no Kubernetes configuration: {e.Message} (in a cluster KUBERNETES_SERVICE_HOST is set; outside, use ~/.kube/config or --kubeconfig)");
            return 1;
        }

        using var admin = new GrpcAgentAdmin();
        await using var app = Build(options, config, admin);
        await app.RunAsync();
        return 0;
    }

    /// <summary>The operator as a web application; tests run it in-process against the API server emulation.</summary>
    internal static WebApplication Build(
        OperatorOptions options,
        KubernetesClientConfiguration config,
        IAgentAdmin admin,
        Action<WebApplicationBuilder>? configure = null,
        InformerSettings? informers = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(20));

        var metricsAddress = BindAddress.Parse(options.MetricsBindAddress, "metrics-bind-address");
        var healthAddress = BindAddress.Parse(options.HealthProbeBindAddress, "health-probe-bind-address");
        var shared = metricsAddress == healthAddress;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            foreach (var address in new[] { metricsAddress, healthAddress }.Distinct().Where(a => !a.Disabled))
            {
                if (address.Host is "" or "0.0.0.0" or "::" or "*")
                {
                    kestrel.ListenAnyIP(address.Port);
                }
                else if (address.Host == "localhost")
                {
                    kestrel.ListenLocalhost(address.Port);
                }
                else
                {
                    kestrel.Listen(IPAddress.Parse(address.Host), address.Port);
                }
            }
        });

        var health = new HealthState { LeaderElect = options.LeaderElect };
        builder.Services.AddSingleton(health);
        builder.Services.AddSingleton<IKubernetes>(_ => new Kubernetes(config));
        builder.Services.AddSingleton(sp => new OperatorMetrics(sp.GetRequiredService<IMeterFactory>()));
        builder.Services.AddSingleton(admin);
        builder.Services.AddSingleton<IEventRecorder>(sp => new EventRecorder(
            sp.GetRequiredService<IKubernetes>(), ClusterNames.ManagedBy, options.Identity, TimeProvider.System,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<EventRecorder>()));
        builder.Services.AddSingleton(new LeaderElectionSettings(
            options.LeaderElect, options.LeaderElectionNamespace, options.LeaderElectionId, options.Identity,
            options.LeaseDuration, options.RenewDeadline, options.RetryPeriod));
        builder.Services.AddSingleton<Func<ILeaderSession>>(sp => () => new ClusterControllerSession(
            sp.GetRequiredService<IKubernetes>(),
            new SessionSettings
            {
                WatchNamespace = string.IsNullOrEmpty(options.WatchNamespace) ? null : options.WatchNamespace,
                Workers = options.Workers,
                Informers = informers ?? new InformerSettings(),
                Reconciler = new ReconcilerSettings
                {
                    DefaultAgentImage = options.AgentImage,
                    ResyncPeriod = options.ResyncPeriod,
                    // Tests register their own clock (certificate renewal); otherwise the system's.
                    TimeProvider = sp.GetService<TimeProvider>() ?? TimeProvider.System,
                },
            },
            sp.GetRequiredService<IAgentAdmin>(),
            sp.GetRequiredService<IEventRecorder>(),
            sp.GetRequiredService<OperatorMetrics>(),
            health,
            sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddHostedService<LeaderElectedRunner>();
        builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(OperatorMetrics.MeterName).AddPrometheusExporter());
        configure?.Invoke(builder);

        var app = builder.Build();
        if (!metricsAddress.Disabled)
        {
            var endpoint = app.MapPrometheusScrapingEndpoint("/metrics");
            if (!shared)
            {
                endpoint.RequireHost($"*:{metricsAddress.Port}");
            }
        }

        if (!healthAddress.Disabled)
        {
            var healthz = app.MapGet("/healthz", () => health.Healthy ? Results.Text("ok") : Results.Text("unhealthy: " + health.Fault, statusCode: 500));
            var readyz = app.MapGet("/readyz", () => health.Ready
                ? Results.Text(health.Leading ? "ok: leading" : "ok: standby")
                : Results.Text("not ready", statusCode: 503));
            if (!shared)
            {
                healthz.RequireHost($"*:{healthAddress.Port}");
                readyz.RequireHost($"*:{healthAddress.Port}");
            }
        }

        return app;
    }
}
