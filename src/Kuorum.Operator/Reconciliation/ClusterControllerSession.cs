using k8s;
using k8s.Models;
using Kuorum.Operator.Admin;
using Kuorum.Operator.Resources;
using Kuorum.Operator.Runtime;

namespace Kuorum.Operator.Reconciliation;

/// <summary>
/// One term of leadership: informers for ConsensusClusters, the kinds they own and their pods; a work queue keyed by
/// cluster; the workers. Every change to an owned object or pod queues its cluster, so a deleted Service or a pod
/// that became ready is acted on at once. Secrets are watched only when labelled as the operator's own (the TLS
/// Secrets of mode Auto): a user's Secret of mode Secret is read when its cluster is reconciled, so the operator
/// never holds every Secret of the cluster in memory.
/// </summary>
internal sealed class ClusterControllerSession : ILeaderSession
{
    private const string OwnedSelector = "app.kubernetes.io/managed-by=" + ClusterNames.ManagedBy;
    private readonly IKubernetes _client;
    private readonly SessionSettings _settings;
    private readonly IAgentAdmin _admin;
    private readonly IEventRecorder _events;
    private readonly OperatorMetrics _metrics;
    private readonly HealthState _health;
    private readonly ILoggerFactory _loggers;

    public ClusterControllerSession(
        IKubernetes client,
        SessionSettings settings,
        IAgentAdmin admin,
        IEventRecorder events,
        OperatorMetrics metrics,
        HealthState health,
        ILoggerFactory loggers)
    {
        _client = client;
        _settings = settings;
        _admin = admin;
        _events = events;
        _metrics = metrics;
        _health = health;
        _loggers = loggers;
    }

    public async Task RunAsync(CancellationToken ct)
    {
        var time = _settings.Reconciler.TimeProvider;
        using var queue = new WorkQueue<ObjectKey>(time, RateLimiter<ObjectKey>.Default(time));
        _metrics.SetQueueDepth(() => queue.Depth);
        var ns = _settings.WatchNamespace;
        var logger = _loggers.CreateLogger("Kuorum.Operator.Runtime.Informer");

        var clusters = Informer(Kinds.ConsensusClusters, ns, null, logger);
        clusters.AddHandler(e => queue.Add(ObjectKey.Of(e.Object)));
        var statefulSets = Owned(Kinds.StatefulSets);
        var services = Owned(Kinds.Services);
        var configMaps = Owned(Kinds.ConfigMaps);
        var secrets = Owned(Kinds.Secrets);
        var serviceAccounts = Owned(Kinds.ServiceAccounts);
        var roles = Owned(Kinds.Roles);
        var roleBindings = Owned(Kinds.RoleBindings);
        var budgets = Owned(Kinds.PodDisruptionBudgets);
        var pods = Informer(Kinds.Pods, ns, ClusterNames.ClusterLabel, logger);
        pods.AddHandler(e =>
        {
            if (e.Object.Metadata.Labels is { } labels && labels.TryGetValue(ClusterNames.ClusterLabel, out var cluster))
            {
                queue.Add(new ObjectKey(e.Object.Metadata.NamespaceProperty ?? "", cluster));
            }
        });

        var caches = new ClusterCaches(clusters.Cache, statefulSets.Cache, services.Cache, configMaps.Cache, secrets.Cache, serviceAccounts.Cache,
            roles.Cache, roleBindings.Cache, budgets.Cache, pods.Cache);
        var reconciler = new ConsensusClusterReconciler(_client, caches, new OwnedObjectWriter(_client, _metrics), _admin, _events,
            _settings.Reconciler, _loggers.CreateLogger<ConsensusClusterReconciler>());
        IInformer[] informers = [clusters, statefulSets, services, configMaps, secrets, serviceAccounts, roles, roleBindings, budgets, pods];

        using var informerCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var running = informers.Select(i => Task.Run(() => i.RunAsync(informerCts.Token), CancellationToken.None)).ToArray();
        try
        {
            while (!informers.All(i => i.HasSynced))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20), time, ct).ConfigureAwait(false);
            }

            _health.SetSynced(true);
            var controller = new Controller("consensuscluster", reconciler, queue, _settings.Workers, _metrics,
                _loggers.CreateLogger<Controller>());
            await controller.RunAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            _health.SetSynced(false);
            queue.ShutDown();
            await informerCts.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(running).ConfigureAwait(false);
            _metrics.SetQueueDepth(() => 0);
        }

        Informer<T, TList> Owned<T, TList>(ResourceKind<T, TList> kind)
            where T : class, IKubernetesObject<V1ObjectMeta>
            where TList : class, IItems<T>, IMetadata<V1ListMeta>
        {
            var informer = Informer(kind, ns, OwnedSelector, logger);
            informer.AddHandler(e =>
            {
                var owner = e.Object.Metadata.OwnerReferences?.FirstOrDefault(r =>
                    r.Controller == true && r.Kind == ConsensusCluster.KindName && r.ApiVersion == ConsensusCluster.GroupVersion);
                if (owner is not null)
                {
                    queue.Add(new ObjectKey(e.Object.Metadata.NamespaceProperty ?? "", owner.Name));
                }
            });
            return informer;
        }
    }

    private Informer<T, TList> Informer<T, TList>(ResourceKind<T, TList> kind, string? ns, string? selector, ILogger logger)
        where T : class, IKubernetesObject<V1ObjectMeta>
        where TList : class, IItems<T>, IMetadata<V1ListMeta> =>
        new(_client, kind, ns, selector, _settings.Informers, _metrics, logger);
}

/// <summary>Settings of a controller session.</summary>
internal sealed class SessionSettings
{
    /// <summary>The namespace to watch; null for all.</summary>
    public string? WatchNamespace { get; init; }

    public int Workers { get; init; } = 2;

    public InformerSettings Informers { get; init; } = new();

    public required ReconcilerSettings Reconciler { get; init; }
}
