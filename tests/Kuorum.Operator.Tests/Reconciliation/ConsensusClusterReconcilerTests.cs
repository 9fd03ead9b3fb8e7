using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Kuorum.Operator.Resources;
using Kuorum.Operator.Tests.Emulation;

namespace Kuorum.Operator.Tests.Reconciliation;

/// <summary>The reconciler end to end against the API server emulation (with its StatefulSet controller emulation and a fake agent Admin).</summary>
public sealed class ConsensusClusterReconcilerTests : IAsyncLifetime
{
    private OperatorFixture _fixture = null!;

    public async Task InitializeAsync() => _fixture = await OperatorFixture.StartAsync();

    public async Task DisposeAsync() => await _fixture.DisposeAsync();

    [Fact]
    public async Task NewCluster_CreatesEveryOwnedObjectWithTheRightContent()
    {
        await _fixture.StartOperatorAsync(new FakeAgentAdmin(3));
        var cluster = await _fixture.CreateClusterAsync("demo", 3);
        await Eventually.TrueAsync(() => _fixture.ConditionIsAsync("demo", ConditionTypes.Ready, "True"), "the cluster to become Ready");

        var client = _fixture.Client;
        const string ns = OperatorFixture.Namespace;
        var sts = await client.AppsV1.ReadNamespacedStatefulSetAsync("demo", ns);
        AssertOwnedBy(sts, cluster);
        Assert.Equal(3, sts.Spec.Replicas);
        Assert.Equal("demo-peers", sts.Spec.ServiceName);
        Assert.Equal("Parallel", sts.Spec.PodManagementPolicy);
        Assert.Equal("3", sts.Metadata.Annotations["kuorum.io/bootstrap-members"]);
        var pod = sts.Spec.Template.Spec;
        Assert.Equal("demo-agent", pod.ServiceAccountName);
        Assert.Equal(30, pod.TerminationGracePeriodSeconds);
        var agent = Assert.Single(pod.InitContainers);
        Assert.Equal("kuorum-agent", agent.Name);
        Assert.Equal("Always", agent.RestartPolicy);
        Assert.Equal("kuorum/agent:test", agent.Image);
        Assert.Equal("/readyz", agent.StartupProbe.HttpGet.Path);
        Assert.Equal("7402", agent.StartupProbe.HttpGet.Port.Value);
        Assert.Equal("/readyz", agent.ReadinessProbe.HttpGet.Path);
        Assert.Equal("/healthz", agent.LivenessProbe.HttpGet.Path);
        Assert.True(agent.SecurityContext.RunAsNonRoot);
        Assert.Equal(65532, agent.SecurityContext.RunAsUser);
        Assert.Equal(65532, agent.SecurityContext.RunAsGroup);
        Assert.False(agent.SecurityContext.AllowPrivilegeEscalation);
        Assert.True(agent.SecurityContext.ReadOnlyRootFilesystem);
        Assert.Equal(["ALL"], agent.SecurityContext.Capabilities.Drop);
        Assert.Equal("RuntimeDefault", agent.SecurityContext.SeccompProfile.Type);
        Assert.Equal(65532, pod.SecurityContext.FsGroup);
        Assert.Equal("OnRootMismatch", pod.SecurityContext.FsGroupChangePolicy);
        Assert.Equal("metadata.name", agent.Env.Single(e => e.Name == "KUORUM_POD_NAME").ValueFrom.FieldRef.FieldPath);
        Assert.Equal("metadata.namespace", agent.Env.Single(e => e.Name == "KUORUM_POD_NAMESPACE").ValueFrom.FieldRef.FieldPath);
        Assert.Equal("demo-config", agent.EnvFrom.Single().ConfigMapRef.Name);
        Assert.Contains(agent.VolumeMounts, m => m.Name == "data" && m.MountPath == "/var/lib/kuorum");
        Assert.Contains(agent.VolumeMounts, m => m.Name == "kuorum-run" && m.MountPath == "/run/kuorum");
        Assert.Contains(pod.Containers.Single().VolumeMounts, m => m.Name == "kuorum-run" && m.MountPath == "/run/kuorum");
        Assert.Contains(pod.Volumes, v => v.Name == "kuorum-run" && v.EmptyDir is not null);
        Assert.Equal("1Gi", sts.Spec.VolumeClaimTemplates.Single().Spec.Resources.Requests["storage"].ToString());
        Assert.Equal("demo", sts.Spec.Template.Metadata.Labels["app"]);
        Assert.Equal("demo", sts.Spec.Template.Metadata.Labels["kuorum.io/cluster"]);

        var config = await client.CoreV1.ReadNamespacedConfigMapAsync("demo-config", ns);
        AssertOwnedBy(config, cluster);
        Assert.Equal("demo-{ordinal}.demo-peers.apps.svc.cluster.local:7400", config.Data["KUORUM_PEER_ADDRESS_TEMPLATE"]);
        Assert.Equal("3", config.Data["KUORUM_BOOTSTRAP_MEMBERS"]);
        Assert.Equal("/var/lib/kuorum", config.Data["KUORUM_DATA_DIR"]);
        Assert.Equal("/run/kuorum/agent.sock", config.Data["KUORUM_API_SOCKET"]);
        Assert.Equal("50ms", config.Data["KUORUM_HEARTBEAT_INTERVAL"]);
        Assert.Equal("500ms", config.Data["KUORUM_ELECTION_TIMEOUT"]);
        Assert.Equal("http", config.Data["KUORUM_PROBE_KIND"]);
        Assert.Equal("/healthz", config.Data["KUORUM_PROBE_PATH"]);
        Assert.Equal("8080", config.Data["KUORUM_PROBE_PORT"]);
        Assert.Equal("weighted", config.Data["KUORUM_WEIGHTING_STRATEGY"]);
        Assert.Equal(config.Data.Count, config.Data.Keys.Count(k => k.StartsWith("KUORUM_", StringComparison.Ordinal)));

        var peers = await client.CoreV1.ReadNamespacedServiceAsync("demo-peers", ns);
        AssertOwnedBy(peers, cluster);
        Assert.Equal("None", peers.Spec.ClusterIP);
        Assert.True(peers.Spec.PublishNotReadyAddresses);
        Assert.Contains(peers.Spec.Ports, p => p.Port == 7400);
        var leader = await client.CoreV1.ReadNamespacedServiceAsync("demo-leader", ns);
        Assert.Equal("leader", leader.Spec.Selector["kuorum.io/role"]);
        Assert.Contains(leader.Spec.Ports, p => p.Port == 8080);
        var all = await client.CoreV1.ReadNamespacedServiceAsync("demo", ns);
        Assert.False(all.Spec.Selector.ContainsKey("kuorum.io/role"));

        var pdb = await client.PolicyV1.ReadNamespacedPodDisruptionBudgetAsync("demo", ns);
        AssertOwnedBy(pdb, cluster);
        Assert.Equal("2", pdb.Spec.MinAvailable.Value);

        var sa = await client.CoreV1.ReadNamespacedServiceAccountAsync("demo-agent", ns);
        AssertOwnedBy(sa, cluster);
        var role = await client.RbacAuthorizationV1.ReadNamespacedRoleAsync("demo-agent", ns);
        var rule = Assert.Single(role.Rules);
        Assert.Equal(["pods"], rule.Resources);
        Assert.Equal(["get", "patch"], rule.Verbs);
        Assert.Equal(Enumerable.Range(0, 9).Select(i => $"demo-{i}"), rule.ResourceNames);
        var binding = await client.RbacAuthorizationV1.ReadNamespacedRoleBindingAsync("demo-agent", ns);
        Assert.Equal("demo-agent", binding.RoleRef.Name);
        Assert.Equal("demo-agent", binding.Subjects.Single().Name);

        var status = (await _fixture.GetClusterAsync("demo")).Status!;
        Assert.Equal("Running", status.Phase);
        Assert.Equal("demo-0", status.Leader);
        Assert.Equal(1, status.Term);
        Assert.Equal(3, status.ReadyReplicas);
        Assert.Equal("kuorum.io/cluster=demo", status.Selector);
        Assert.Equal(["demo-0", "demo-1", "demo-2"], status.Members!.Select(m => m.Name));
        Assert.Equal("Leader", status.Members![0].Role);
    }

    [Fact]
    public async Task Reconcile_NothingChanged_WritesNothing()
    {
        var admin = new FakeAgentAdmin(3);
        await _fixture.StartOperatorAsync(admin);
        await _fixture.CreateClusterAsync("quiet", 3);
        await Eventually.TrueAsync(() => _fixture.ConditionIsAsync("quiet", ConditionTypes.Ready, "True"), "the cluster to become Ready");
        await Settle();

        var before = OperatorWrites().Count;
        var statusCalls = admin.StatusCalls;
        // Force reconciles without changing anything the operator owns: touch an unrelated annotation of the cluster.
        for (var i = 0; i < 3; i++)
        {
            var patch = new V1Patch("{\"metadata\":{\"annotations\":{\"test/touch\":\"" + i + "\"}}}", V1Patch.PatchType.MergePatch);
            await _fixture.Client.CustomObjects.PatchNamespacedCustomObjectAsync(patch, ConsensusCluster.ApiGroup, ConsensusCluster.ApiVersionName,
                OperatorFixture.Namespace, ConsensusCluster.Plural, "quiet");
        }

        await Eventually.TrueAsync(() => admin.StatusCalls >= statusCalls + 3, "the operator to reconcile the cluster again");
        await Settle();
        Assert.Equal(before, OperatorWrites().Count);
    }

    [Fact]
    public async Task DeletedOwnedObjects_AreRecreated()
    {
        await _fixture.StartOperatorAsync(new FakeAgentAdmin(3));
        await _fixture.CreateClusterAsync("heal", 3);
        await Eventually.TrueAsync(() => _fixture.ConditionIsAsync("heal", ConditionTypes.Ready, "True"), "the cluster to become Ready");

        await _fixture.Client.CoreV1.DeleteNamespacedServiceAsync("heal-leader", OperatorFixture.Namespace);
        await _fixture.Client.CoreV1.DeleteNamespacedConfigMapAsync("heal-config", OperatorFixture.Namespace);
        await _fixture.Client.RbacAuthorizationV1.DeleteNamespacedRoleAsync("heal-agent", OperatorFixture.Namespace);

        await Eventually.TrueAsync(async () =>
            await Exists(() => _fixture.Client.CoreV1.ReadNamespacedServiceAsync("heal-leader", OperatorFixture.Namespace))
            && await Exists(() => _fixture.Client.CoreV1.ReadNamespacedConfigMapAsync("heal-config", OperatorFixture.Namespace))
            && await Exists(() => _fixture.Client.RbacAuthorizationV1.ReadNamespacedRoleAsync("heal-agent", OperatorFixture.Namespace)),
            "the deleted objects to come back");
    }

    [Fact]
    public async Task ChangedOwnedObject_IsSetBack()
    {
        await _fixture.StartOperatorAsync(new FakeAgentAdmin(3));
        await _fixture.CreateClusterAsync("drift", 3);
        await Eventually.TrueAsync(() => _fixture.ConditionIsAsync("drift", ConditionTypes.Ready, "True"), "the cluster to become Ready");

        var config = await _fixture.Client.CoreV1.ReadNamespacedConfigMapAsync("drift-config", OperatorFixture.Namespace);
        config.Data["KUORUM_ELECTION_TIMEOUT"] = "9s";
        config.Data["EXTRA"] = "x";
        await _fixture.Client.CoreV1.ReplaceNamespacedConfigMapAsync(config, "drift-config", OperatorFixture.Namespace);

        await Eventually.TrueAsync(async () =>
        {
            var now = await _fixture.Client.CoreV1.ReadNamespacedConfigMapAsync("drift-config", OperatorFixture.Namespace);
            return now.Data["KUORUM_ELECTION_TIMEOUT"] == "500ms" && !now.Data.ContainsKey("EXTRA");
        }, "the ConfigMap to be set back");
    }

    [Fact]
    public async Task DeletedCluster_OwnedObjectsAreCollected()
    {
        await _fixture.StartOperatorAsync(new FakeAgentAdmin(3));
        await _fixture.CreateClusterAsync("gone", 3);
        await Eventually.TrueAsync(() => _fixture.ConditionIsAsync("gone", ConditionTypes.Ready, "True"), "the cluster to become Ready");

        await _fixture.Client.CustomObjects.DeleteNamespacedCustomObjectAsync(ConsensusCluster.ApiGroup, ConsensusCluster.ApiVersionName,
            OperatorFixture.Namespace, ConsensusCluster.Plural, "gone");

        await Eventually.TrueAsync(() =>
            _fixture.Api.Store.List(EmulatedResources.StatefulSets, OperatorFixture.Namespace, LabelSelector.Everything).Items.Count == 0
            && _fixture.Api.Store.List(EmulatedResources.Pods, OperatorFixture.Namespace, LabelSelector.Everything).Items.Count == 0
            && _fixture.Api.Store.List(EmulatedResources.Services, OperatorFixture.Namespace, LabelSelector.Everything).Items.Count == 0,
            "garbage collection of the cluster's objects");
        await Settle();
        Assert.Null(await _fixture.GetStatefulSetAsync("gone"));
    }

    private List<RecordedRequest> OperatorWrites() =>
        _fixture.Api.Requests.Where(r => r.UserAgent.StartsWith("operator", StringComparison.Ordinal) && r.IsWrite && !r.Path.Contains("/leases", StringComparison.Ordinal)).ToList();

    private static Task Settle() => Task.Delay(TimeSpan.FromMilliseconds(500));

    private static async Task<bool> Exists<T>(Func<Task<T>> read)
    {
        try
        {
            await read();
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    private static void AssertOwnedBy(IKubernetesObject<V1ObjectMeta> owned, ConsensusCluster cluster)
    {
        var owner = Assert.Single(owned.Metadata.OwnerReferences);
        Assert.Equal(cluster.Metadata.Uid, owner.Uid);
        Assert.Equal("ConsensusCluster", owner.Kind);
        Assert.Equal("kuorum.io/v1alpha1", owner.ApiVersion);
        Assert.True(owner.Controller);
        Assert.Equal("kuorum-operator", owned.Metadata.Labels["app.kubernetes.io/managed-by"]);
    }

    internal static JsonObject? Raw(OperatorFixture fixture, EmulatedResource resource, string name) =>
        fixture.Api.Store.Get(resource, OperatorFixture.Namespace, name);
}
