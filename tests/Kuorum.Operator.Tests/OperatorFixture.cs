using System.Net;
using System.Net.Sockets;
using k8s;
using k8s.Models;
using Kuorum.Operator.Admin;
using Kuorum.Operator.Resources;
using Kuorum.Operator.Runtime;
using Kuorum.Operator.Tests.Emulation;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Kuorum.Operator.Tests;

/// <summary>The API server emulation, its StatefulSet controller emulation, a client, and operators run in-process against them.</summary>
internal sealed class OperatorFixture : IAsyncDisposable
{
    public const string Namespace = "apps";
    private readonly List<RunningOperator> _operators = [];

    private OperatorFixture(ApiServerEmulation api, StatefulSetControllerEmulation statefulSets)
    {
        Api = api;
        StatefulSets = statefulSets;
        Client = new Kubernetes(api.ClientConfiguration("test-client"));
    }

    public ApiServerEmulation Api { get; }

    public StatefulSetControllerEmulation StatefulSets { get; }

    public IKubernetes Client { get; }

    /// <summary>Log lines of every operator the fixture started.</summary>
    public TestLog Log { get; } = new();

    /// <summary>The kubelet emulation pods are handed to.</summary>
    public IKubeletEmulation Kubelet { get; private init; } = null!;

    public static async Task<OperatorFixture> StartAsync(IKubeletEmulation? kubelet = null)
    {
        var api = await ApiServerEmulation.StartAsync();
        kubelet ??= new InstantKubeletEmulation();
        return new OperatorFixture(api, new StatefulSetControllerEmulation(api.Store, kubelet)) { Kubelet = kubelet };
    }

    /// <summary>
    /// With a kubelet emulation that needs the API server emulation (the end-to-end tests): the emulation also listens
    /// on <paramref name="alsoListenOn"/>; the kubelet is disposed (its pods stopped) with the fixture, before the API server.
    /// </summary>
    public static async Task<OperatorFixture> StartAsync(Func<ApiServerEmulation, IKubeletEmulation> kubelet, params IPAddress[] alsoListenOn)
    {
        var api = await ApiServerEmulation.StartAsync(alsoListenOn);
        IKubeletEmulation created;
        try
        {
            created = kubelet(api);
        }
        catch
        {
            await api.DisposeAsync();
            throw;
        }

        return new OperatorFixture(api, new StatefulSetControllerEmulation(api.Store, created)) { Kubelet = created };
    }

    public async Task<RunningOperator> StartOperatorAsync(IAgentAdmin admin, string identity = "operator-a", bool leaderElect = false, TimeProvider? time = null)
    {
        var options = new OperatorOptions
        {
            LeaderElect = leaderElect,
            LeaderElectionNamespace = "kuorum-system",
            Identity = identity,
            MetricsBindAddress = $"127.0.0.1:{FreePort()}",
            HealthProbeBindAddress = $"127.0.0.1:{FreePort()}",
            AgentImage = "kuorum/agent:test",
            LeaseDuration = TimeSpan.FromSeconds(2),
            RenewDeadline = TimeSpan.FromSeconds(1.5),
            RetryPeriod = TimeSpan.FromMilliseconds(250),
            ResyncPeriod = TimeSpan.FromSeconds(1),
        };
        var app = OperatorHost.Build(
            options,
            Api.ClientConfiguration(identity),
            admin,
            builder =>
            {
                builder.Logging.ClearProviders();
                builder.Logging.AddProvider(Log);
                if (time is not null)
                {
                    builder.Services.AddSingleton(time);
                }
            },
            new InformerSettings { InitialRetryDelay = TimeSpan.FromMilliseconds(50), MaxRetryDelay = TimeSpan.FromMilliseconds(500), MinWatchTimeout = TimeSpan.FromSeconds(30) });
        await app.StartAsync();
        var running = new RunningOperator(app, options);
        _operators.Add(running);
        return running;
    }

    public async Task<ConsensusCluster> CreateClusterAsync(string name, int replicas, Action<ConsensusClusterSpec>? change = null)
    {
        var cluster = new ConsensusCluster
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = Namespace },
            Spec = new ConsensusClusterSpec
            {
                Replicas = replicas,
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = "demo" } },
                    Spec = new V1PodSpec
                    {
                        Containers =
                        [
                            new V1Container
                            {
                                Name = "app",
                                Image = "demo:1",
                                Ports = [new V1ContainerPort { Name = "http", ContainerPort = 8080 }],
                            },
                        ],
                    },
                },
                Probe = new ProbeSpec { Kind = ProbeKinds.Http, Path = "/healthz", Port = 8080 },
            },
        };
        change?.Invoke(cluster.Spec);
        return await Client.CustomObjects.CreateNamespacedCustomObjectAsync<ConsensusCluster>(
            cluster, ConsensusCluster.ApiGroup, ConsensusCluster.ApiVersionName, Namespace, ConsensusCluster.Plural);
    }

    public Task<ConsensusCluster> GetClusterAsync(string name) =>
        Client.CustomObjects.GetNamespacedCustomObjectAsync<ConsensusCluster>(
            ConsensusCluster.ApiGroup, ConsensusCluster.ApiVersionName, Namespace, ConsensusCluster.Plural, name);

    public async Task<V1StatefulSet?> GetStatefulSetAsync(string name)
    {
        try
        {
            return await Client.AppsV1.ReadNamespacedStatefulSetAsync(name, Namespace);
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public static string? Condition(ConsensusCluster cluster, string type) =>
        cluster.Status?.Conditions?.FirstOrDefault(c => c.Type == type)?.Status;

    public async Task<bool> ConditionIsAsync(string name, string type, string status) =>
        Condition(await GetClusterAsync(name), type) == status;

    public async ValueTask DisposeAsync()
    {
        foreach (var running in _operators)
        {
            await running.DisposeAsync();
        }

        await StatefulSets.DisposeAsync();
        if (Kubelet is IAsyncDisposable kubelet)
        {
            await kubelet.DisposeAsync();
        }

        await Api.DisposeAsync();
        Client.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>An operator process, in-process.</summary>
internal sealed class RunningOperator(WebApplication app, OperatorOptions options) : IAsyncDisposable
{
    private bool _stopped;

    public OperatorOptions Options { get; } = options;

    public HealthState Health => (HealthState)app.Services.GetService(typeof(HealthState))!;

    public string MetricsUrl => "http://" + Options.MetricsBindAddress;

    public string HealthUrl => "http://" + Options.HealthProbeBindAddress;

    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await app.StopAsync(timeout.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await app.DisposeAsync();
    }
}
