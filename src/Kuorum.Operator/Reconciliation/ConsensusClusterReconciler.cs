using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Kuorum.Operator.Admin;
using Kuorum.Operator.Resources;
using Kuorum.Operator.Runtime;

namespace Kuorum.Operator.Reconciliation;

/// <summary>
/// Reconciles one ConsensusCluster: validates the spec, writes the owned objects, asks the leader's agent for the
/// membership, takes at most one membership step, and writes the status. Every step is idempotent, so running it
/// again with nothing changed writes nothing.
/// </summary>
internal sealed partial class ConsensusClusterReconciler : IReconciler
{
    private static readonly IReadOnlySet<string> NoWholeReplace = new HashSet<string>();
    private static readonly IReadOnlySet<string> ServiceWholeReplace = new HashSet<string> { ".spec.selector" };
    private static readonly IReadOnlySet<string> ConfigMapWholeReplace = new HashSet<string> { ".data" };
    private static readonly IReadOnlySet<string> RoleWholeReplace = new HashSet<string> { ".rules" };
    private static readonly IReadOnlySet<string> RoleBindingWholeReplace = new HashSet<string> { ".subjects" };
    private static readonly IReadOnlySet<string> StatefulSetWholeReplace = new HashSet<string> { ".spec.template" };

    private readonly IKubernetes _client;
    private readonly ClusterCaches _caches;
    private readonly OwnedObjectWriter _writer;
    private readonly IAgentAdmin _admin;
    private readonly IEventRecorder _events;
    private readonly ReconcilerSettings _settings;
    private readonly ClusterTls _tls;
    private readonly ILogger _logger;

    public ConsensusClusterReconciler(
        IKubernetes client,
        ClusterCaches caches,
        OwnedObjectWriter writer,
        IAgentAdmin admin,
        IEventRecorder events,
        ReconcilerSettings settings,
        ILogger logger)
    {
        _client = client;
        _caches = caches;
        _writer = writer;
        _admin = admin;
        _events = events;
        _settings = settings;
        _tls = new ClusterTls(client, caches, writer, events, settings.TimeProvider);
        _logger = logger;
    }

    public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken ct)
    {
        var cluster = _caches.Clusters.Get(key);
        if (cluster is null || cluster.Metadata.DeletionTimestamp is not null)
        {
            // Deleted: owner references let the garbage collector remove what it owned.
            _tls.Forget(key);
            return ReconcileResult.Done;
        }

        var names = new ClusterNames(cluster);
        var spec = EffectiveSpec.From(cluster.Spec ?? new ConsensusClusterSpec(), _settings.DefaultAgentImage);
        var sts = _caches.StatefulSets.Get(names.Namespace, names.StatefulSet);
        var problems = SpecValidator.Validate(spec, sts);
        if (problems.Count > 0)
        {
            Log.InvalidSpec(_logger, key.ToString(), string.Join("; ", problems));
            await WriteStatusAsync(cluster, names, new Observation(spec, sts, null, null, problems, null), ct).ConfigureAwait(false);
            return ReconcileResult.After(_settings.ResyncPeriod);
        }

        // TLS first: the agents' Secret must exist before pods mount it, and the operator needs its credentials to
        // call the agents. A user's Secret that is missing or unusable blocks the spec like an invalid spec does.
        var tls = await _tls.ResolveAsync(cluster, spec, names, ct).ConfigureAwait(false);
        if (tls.Problems.Count > 0)
        {
            // Looked at again every few seconds (a Secret from cert-manager appears soon): logged when the problem changes.
            var said = cluster.Status?.Conditions?.FirstOrDefault(c => c.Type == ConditionTypes.Degraded)?.Message;
            if (said is null || !said.EndsWith(string.Join("; ", tls.Problems), StringComparison.Ordinal))
            {
                Log.InvalidSpec(_logger, key.ToString(), string.Join("; ", tls.Problems));
            }

            await WriteStatusAsync(cluster, names, new Observation(spec, sts, null, null, tls.Problems, null, "InvalidTLSSecret"), ct).ConfigureAwait(false);
            return ReconcileResult.After(_settings.ProgressPeriod);
        }

        var bootstrap = await EnsureBootstrapMembersAsync(cluster, spec, sts, ct).ConfigureAwait(false);
        var desired = new DesiredObjects(cluster, spec, bootstrap);
        var pods = _caches.Pods.List(names.Namespace)
            .Where(p => Value(p.Metadata.Labels, ClusterNames.ClusterLabel) == names.Cluster)
            .ToDictionary(p => names.OrdinalOf(p.Metadata.Name));
        var (view, leader) = await ObserveAsync(names, pods, tls.Credentials, ct).ConfigureAwait(false);
        var plan = MembershipPlanner.Plan(spec.Replicas, sts?.Spec?.Replicas, view, ordinal => IsRunning(pods.GetValueOrDefault(ordinal)), _settings.PromotionLag);

        string? failure = null;
        try
        {
            sts = await WriteOwnedObjectsAsync(cluster, desired, plan, ct).ConfigureAwait(false);
        }
        catch (OwnershipConflictException e)
        {
            failure = e.Message;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.UnprocessableEntity or HttpStatusCode.BadRequest or HttpStatusCode.Forbidden)
        {
            failure = $"The API server refused an owned object ({(int)e.Response.StatusCode}): {e.Response.Content}";
        }

        if (failure is null && leader is not null)
        {
            failure = await TakeStepAsync(cluster, names, plan.Step, leader, ct).ConfigureAwait(false);
        }

        await WriteStatusAsync(cluster, names, new Observation(spec, sts, view, plan, [], failure), ct).ConfigureAwait(false);
        return ReconcileResult.After(plan.InProgress || failure is not null || view is null ? _settings.ProgressPeriod : _settings.ResyncPeriod);
    }

    private async Task<V1StatefulSet?> WriteOwnedObjectsAsync(ConsensusCluster cluster, DesiredObjects desired, MembershipPlan plan, CancellationToken ct)
    {
        var uid = cluster.Metadata.Uid;
        var config = desired.ConfigMap();
        await _writer.EnsureAsync(Kinds.ConfigMaps, _caches.ConfigMaps, config, uid, ConfigMapWholeReplace, ct).ConfigureAwait(false);
        await _writer.EnsureAsync(Kinds.ServiceAccounts, _caches.ServiceAccounts, desired.ServiceAccount(), uid, NoWholeReplace, ct).ConfigureAwait(false);
        await _writer.EnsureAsync(Kinds.Roles, _caches.Roles, desired.Role(), uid, RoleWholeReplace, ct).ConfigureAwait(false);
        await _writer.EnsureAsync(Kinds.RoleBindings, _caches.RoleBindings, desired.RoleBinding(), uid, RoleBindingWholeReplace, ct).ConfigureAwait(false);
        await _writer.EnsureAsync(Kinds.Services, _caches.Services, desired.PeerService(), uid, ServiceWholeReplace, ct).ConfigureAwait(false);
        await _writer.EnsureAsync(Kinds.Services, _caches.Services, desired.LeaderService(), uid, ServiceWholeReplace, ct).ConfigureAwait(false);
        await _writer.EnsureAsync(Kinds.Services, _caches.Services, desired.ClientService(), uid, ServiceWholeReplace, ct).ConfigureAwait(false);
        await _writer.EnsureAsync(Kinds.PodDisruptionBudgets, _caches.DisruptionBudgets, desired.DisruptionBudget(), uid, NoWholeReplace, ct).ConfigureAwait(false);
        var outcome = await _writer.EnsureAsync(Kinds.StatefulSets, _caches.StatefulSets, desired.StatefulSet(plan.StatefulSetReplicas, config), uid, StatefulSetWholeReplace, ct)
            .ConfigureAwait(false);
        if (outcome == WriteOutcome.Created)
        {
            await _events.RecordAsync(cluster, EventTypes.Normal, "Created", $"Created StatefulSet {desired.Names.StatefulSet} with {plan.StatefulSetReplicas} replicas and its Services, PodDisruptionBudget, RBAC and ConfigMap", ct)
                .ConfigureAwait(false);
        }

        return _caches.StatefulSets.Get(desired.Names.Namespace, desired.Names.StatefulSet);
    }

    /// <summary>
    /// The number of founding members, recorded once on the ConsensusCluster (annotation kuorum.io/bootstrap-members)
    /// and never changed, so scaling does not change the agents' environment and roll the pods.
    /// </summary>
    private async Task<int> EnsureBootstrapMembersAsync(ConsensusCluster cluster, EffectiveSpec spec, V1StatefulSet? sts, CancellationToken ct)
    {
        if (int.TryParse(Value(cluster.Metadata.Annotations, ClusterNames.BootstrapAnnotation), out var recorded) && recorded > 0)
        {
            return recorded;
        }

        var members = int.TryParse(Value(sts?.Metadata.Annotations, ClusterNames.BootstrapAnnotation), out var fromSts) && fromSts > 0
            ? fromSts
            : spec.Replicas;
        var patch = new V1Patch(
            JsonSerializer.Serialize(new { metadata = new { annotations = new Dictionary<string, string> { [ClusterNames.BootstrapAnnotation] = members.ToString(System.Globalization.CultureInfo.InvariantCulture) } } }),
            V1Patch.PatchType.MergePatch);
        await _client.CustomObjects.PatchNamespacedCustomObjectAsync(
            patch, ConsensusCluster.ApiGroup, ConsensusCluster.ApiVersionName, cluster.Metadata.NamespaceProperty, ConsensusCluster.Plural,
            cluster.Metadata.Name, fieldManager: Kinds.FieldManager, cancellationToken: ct).ConfigureAwait(false);
        return members;
    }

    /// <summary>Asks running agents who leads, then asks the leader for the membership and its progress.</summary>
    private async Task<(MembershipView? View, AgentEndpoint? Leader)> ObserveAsync(
        ClusterNames names, Dictionary<int, V1Pod> pods, AgentTlsCredentials? tls, CancellationToken ct)
    {
        var candidates = pods.Where(p => p.Key >= 0 && IsRunning(p.Value)).OrderBy(p => p.Key).Select(p => Endpoint(names, p.Key, p.Value, tls)).ToList();
        foreach (var candidate in candidates)
        {
            var answer = await TryStatusAsync(candidate, ct).ConfigureAwait(false);
            if (answer is null || answer.LeaderId <= 0)
            {
                continue;
            }

            var leaderOrdinal = (int)answer.LeaderId - 1;
            var leader = answer.NodeId == answer.LeaderId
                ? candidate
                : Endpoint(names, leaderOrdinal, pods.GetValueOrDefault(leaderOrdinal), tls);
            var fromLeader = answer.NodeId == answer.LeaderId ? answer : await TryStatusAsync(leader, ct).ConfigureAwait(false);
            if (fromLeader is null || fromLeader.LeaderId != fromLeader.NodeId)
            {
                continue;
            }

            return (new MembershipView(fromLeader.LeaderId, fromLeader.Term, fromLeader.CommitIndex, fromLeader.Members), leader);
        }

        return (null, null);
    }

    private async Task<AgentStatus?> TryStatusAsync(AgentEndpoint agent, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_settings.AdminTimeout);
        try
        {
            return await _admin.StatusAsync(agent, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AgentAdminException || (e is OperationCanceledException && !ct.IsCancellationRequested) || e is HttpRequestException)
        {
            Log.AgentUnreachable(_logger, agent.PodName, e.Message);
            return null;
        }
    }

    private async Task<string?> TakeStepAsync(ConsensusCluster cluster, ClusterNames names, MembershipStep step, AgentEndpoint leader, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_settings.AdminTimeout);
        try
        {
            switch (step)
            {
                case MembershipStep.AddLearner add:
                    await _admin.AddLearnerAsync(leader, add.Id, names.PeerAddress((int)add.Id - 1), timeout.Token).ConfigureAwait(false);
                    await Record(cluster, "MemberAdded", $"Added {names.Pod((int)add.Id - 1)} (id {add.Id}) as a learner").ConfigureAwait(false);
                    break;
                case MembershipStep.Promote promote:
                    await _admin.PromoteAsync(leader, promote.Id, timeout.Token).ConfigureAwait(false);
                    await Record(cluster, "MemberPromoted", $"Promoted {names.Pod((int)promote.Id - 1)} (id {promote.Id}) to voter").ConfigureAwait(false);
                    break;
                case MembershipStep.Remove remove:
                    await _admin.RemoveMemberAsync(leader, remove.Id, timeout.Token).ConfigureAwait(false);
                    await Record(cluster, "MemberRemoved", $"Removed {names.Pod((int)remove.Id - 1)} (id {remove.Id}) from the configuration").ConfigureAwait(false);
                    break;
                case MembershipStep.TransferLeadership transfer:
                    await _admin.TransferLeadershipAsync(leader, 0, timeout.Token).ConfigureAwait(false);
                    await Record(cluster, "LeadershipTransferred", $"Asked {names.Pod((int)transfer.From - 1)} to hand leadership over before it leaves").ConfigureAwait(false);
                    break;
            }

            return null;
        }
        catch (Exception e) when (e is AgentAdminException || (e is OperationCanceledException && !ct.IsCancellationRequested) || e is HttpRequestException)
        {
            // The agent refused (not leader any more, a change still uncommitted, a learner not caught up): look again soon.
            Log.StepRefused(_logger, step.ToString(), e.Message);
            return null;
        }

        Task Record(ConsensusCluster subject, string reason, string message) =>
            _events.RecordAsync(subject, EventTypes.Normal, reason, message, ct);
    }

    private async Task WriteStatusAsync(ConsensusCluster cluster, ClusterNames names, Observation observation, CancellationToken ct)
    {
        var now = _settings.TimeProvider.GetUtcNow().UtcDateTime;
        now = new DateTime(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);
        var current = cluster;
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var status = ClusterStatusBuilder.Build(current, names, observation, now);
            if (current.Status is not null && KubernetesJson.Serialize(status) == KubernetesJson.Serialize(current.Status))
            {
                return;
            }

            var body = KubernetesJson.Deserialize<ConsensusCluster>(KubernetesJson.Serialize(current));
            body.Status = status;
            try
            {
                var written = await _client.CustomObjects.ReplaceNamespacedCustomObjectStatusAsync<ConsensusCluster>(
                    body, ConsensusCluster.ApiGroup, ConsensusCluster.ApiVersionName, names.Namespace, ConsensusCluster.Plural,
                    names.Cluster, fieldManager: Kinds.FieldManager, cancellationToken: ct).ConfigureAwait(false);
                _caches.Clusters.WriteThrough(written);
                await RecordTransitionsAsync(written, current.Status, status, ct).ConfigureAwait(false);
                return;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
            {
                current = await Kinds.ConsensusClusters.Get(_client, names.Namespace, names.Cluster, ct).ConfigureAwait(false);
            }
        }

        throw new InvalidOperationException($"status of {names.Namespace}/{names.Cluster} kept conflicting");
    }

    private async Task RecordTransitionsAsync(ConsensusCluster cluster, ConsensusClusterStatus? before, ConsensusClusterStatus after, CancellationToken ct)
    {
        foreach (var condition in after.Conditions ?? [])
        {
            var old = before?.Conditions?.FirstOrDefault(c => c.Type == condition.Type);
            if (old?.Status == condition.Status)
            {
                continue;
            }

            var (type, reason) = (condition.Type, condition.Status) switch
            {
                (ConditionTypes.Ready, "True") => (EventTypes.Normal, "ClusterReady"),
                (ConditionTypes.Ready, "False") when old is not null => (EventTypes.Warning, "ClusterNotReady"),
                (ConditionTypes.Available, "False") when old is not null => (EventTypes.Warning, "LeaderLost"),
                (ConditionTypes.Degraded, "True") => (EventTypes.Warning, condition.Reason),
                (ConditionTypes.Degraded, "False") when old is not null => (EventTypes.Normal, "Recovered"),
                _ => (null, null),
            };
            if (type is not null && reason is not null)
            {
                await _events.RecordAsync(cluster, type, reason, condition.Message, ct).ConfigureAwait(false);
            }
        }

        if (after.Leader is not null && (after.Leader != before?.Leader || after.Term != before?.Term))
        {
            await _events.RecordAsync(cluster, EventTypes.Normal, "LeaderElected", $"{after.Leader} leads in term {after.Term}", ct).ConfigureAwait(false);
        }
    }

    private static string? Value(IDictionary<string, string>? map, string key) =>
        map is not null && map.TryGetValue(key, out var value) ? value : null;

    private static bool IsRunning(V1Pod? pod) =>
        pod is { Status.Phase: "Running", Metadata.DeletionTimestamp: null } && !string.IsNullOrEmpty(pod.Status.PodIP);

    /// <summary>
    /// An agent's Admin endpoint: the pod IP when known (no DNS needed), else its DNS name under the headless Service.
    /// Under TLS the connection checks the agent's certificate against that DNS name, which the certificate names.
    /// </summary>
    private static AgentEndpoint Endpoint(ClusterNames names, int ordinal, V1Pod? pod, AgentTlsCredentials? tls) => new(
        names.Pod(ordinal),
        ordinal,
        string.IsNullOrEmpty(pod?.Status?.PodIP)
            ? names.PeerAddress(ordinal)
            : $"{FormatHost(pod.Status.PodIP)}:{ClusterNames.PeerPort.ToString(System.Globalization.CultureInfo.InvariantCulture)}")
    {
        ServerName = tls is null ? null : names.PodHost(ordinal),
        Tls = tls,
    };

    private static string FormatHost(string ip) => ip.Contains(':', StringComparison.Ordinal) ? $"[{ip}]" : ip;

    private static partial class Log
    {
        [LoggerMessage(EventId = 2000, Level = LogLevel.Warning, Message = "{Cluster}: spec not applied: {Problems}")]
        public static partial void InvalidSpec(ILogger logger, string cluster, string problems);

        [LoggerMessage(EventId = 2001, Level = LogLevel.Debug, Message = "Agent {Pod} did not answer Admin.Status: {Error}")]
        public static partial void AgentUnreachable(ILogger logger, string pod, string error);

        [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Membership step {Step} refused, retrying: {Error}")]
        public static partial void StepRefused(ILogger logger, string step, string error);
    }
}
