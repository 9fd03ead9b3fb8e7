using k8s;
using k8s.Models;
using Kuorum.Operator.Resources;
using Kuorum.Operator.Tests.Emulation;

namespace Kuorum.Operator.Tests.Reconciliation;

/// <summary>Scaling through Raft membership, status conditions and spec validation, against the API server emulation.</summary>
public sealed class ScalingAndStatusTests : IAsyncLifetime
{
    private OperatorFixture _fixture = null!;

    public async Task InitializeAsync() => _fixture = await OperatorFixture.StartAsync();

    public async Task DisposeAsync() => await _fixture.DisposeAsync();

    [Fact]
    public async Task ScaleUp_AddsEachNewPodAsLearnerThenPromotes_OneAtATime()
    {
        var admin = new FakeAgentAdmin(3);
        await _fixture.StartOperatorAsync(admin);
        await _fixture.CreateClusterAsync("up", 3);
        await Eventually.TrueAsync(() => _fixture.ConditionIsAsync("up", ConditionTypes.Ready, "True"), "the cluster to become Ready");

        // kubectl scale cc/up --replicas=5 goes through the scale subresource.
        var scale = new V1Patch("{\"spec\":{\"replicas\":5}}", V1Patch.PatchType.MergePatch);
        await _fixture.Client.CustomObjects.PatchNamespacedCustomObjectScaleAsync(scale, ConsensusCluster.ApiGroup, ConsensusCluster.ApiVersionName,
            OperatorFixture.Namespace, ConsensusCluster.Plural, "up");

        await Eventually.TrueAsync(async () =>
        {
            var c = await _fixture.GetClusterAsync("up");
            return OperatorFixture.Condition(c, ConditionTypes.Ready) == "True" && c.Status?.Members?.Count == 5;
        }, "five voters and Ready");

        Assert.Equal(["AddLearner 4", "Promote 4", "AddLearner 5", "Promote 5"], admin.Calls);
        Assert.All(admin.Members.Values, role => Assert.Equal(Kuorum.Operator.Admin.MemberRole.Voter, role));
        var sts = await _fixture.GetStatefulSetAsync("up");
        Assert.Equal(5, sts!.Spec.Replicas);
        Assert.Equal("3", sts.Metadata.Annotations["kuorum.io/bootstrap-members"]);
        var config = await _fixture.Client.CoreV1.ReadNamespacedConfigMapAsync("up-config", OperatorFixture.Namespace);
        Assert.Equal("3", config.Data["KUORUM_BOOTSTRAP_MEMBERS"]);
        Assert.Equal("Running", (await _fixture.GetClusterAsync("up")).Status!.Phase);
    }

    [Fact]
    public async Task ScaleDown_RemovesMembersBeforeTheirPodsGo_AndMovesLeadershipOffALeavingLeader()
    {
        var admin = new FakeAgentAdmin(5);
        admin.ElectLeader(5);
        var violations = new List<string>();
        admin.OnCall = call =>
        {
            // When a member is removed its pod must still exist: the StatefulSet shrinks only after removals.
            if (call.StartsWith("Remove ", StringComparison.Ordinal))
            {
                var ordinal = int.Parse(call["Remove ".Length..], System.Globalization.CultureInfo.InvariantCulture) - 1;
                if (_fixture.Api.Store.Get(EmulatedResources.Pods, OperatorFixture.Namespace, $"down-{ordinal}") is null)
                {
                    violations.Add($"{call}: pod down-{ordinal} was already gone");
                }
            }
        };
        await _fixture.StartOperatorAsync(admin);
        await _fixture.CreateClusterAsync("down", 5);
        await Eventually.TrueAsync(() => _fixture.ConditionIsAsync("down", ConditionTypes.Ready, "True"), "the cluster to become Ready");

        var cluster = await _fixture.GetClusterAsync("down");
        cluster.Spec.Replicas = 3;
        await _fixture.Client.CustomObjects.ReplaceNamespacedCustomObjectAsync(cluster, ConsensusCluster.ApiGroup, ConsensusCluster.ApiVersionName,
            OperatorFixture.Namespace, ConsensusCluster.Plural, "down");

        await Eventually.TrueAsync(async () =>
        {
            var c = await _fixture.GetClusterAsync("down");
            return OperatorFixture.Condition(c, ConditionTypes.Ready) == "True" && c.Status?.Members?.Count == 3 && c.Status.ReadyReplicas == 3;
        }, "three voters and Ready");

        Assert.Equal(["Transfer 5", "Remove 5", "Remove 4"], admin.Calls);
        Assert.Empty(violations);
        Assert.Equal([5, 3], _fixture.StatefulSets.ReplicaHistory[$"{OperatorFixture.Namespace}/down"].Where(r => r != 4).Distinct());
        Assert.True(_fixture.StatefulSets.ReplicaHistory[$"{OperatorFixture.Namespace}/down"].All(r => r >= 3));
        Assert.Equal("2", (await _fixture.Client.PolicyV1.ReadNamespacedPodDisruptionBudgetAsync("down", OperatorFixture.Namespace)).Spec.MinAvailable.Value);
        Assert.Equal("down-0", (await _fixture.GetClusterAsync("down")).Status!.Leader);
    }

    [Fact]
    public async Task StatusConditions_FollowTheCluster()
    {
        var admin = new FakeAgentAdmin(3) { Reachable = false };
        await _fixture.StartOperatorAsync(admin);
        await _fixture.CreateClusterAsync("life", 3);

        // Pods run but no agent answers: no leader, not Ready, and (all pods ready) Degraded with NoLeader.
        await Eventually.TrueAsync(async () =>
        {
            var c = await _fixture.GetClusterAsync("life");
            return OperatorFixture.Condition(c, ConditionTypes.Available) == "False" && OperatorFixture.Condition(c, ConditionTypes.Degraded) == "True";
        }, "Available=False and Degraded=True without a leader");
        var early = await _fixture.GetClusterAsync("life");
        Assert.Equal("False", OperatorFixture.Condition(early, ConditionTypes.Ready));
        Assert.Equal("NoLeader", early.Status!.Conditions!.Single(c => c.Type == ConditionTypes.Degraded).Reason);
        Assert.Null(early.Status.Leader);

        admin.Reachable = true;
        await Eventually.TrueAsync(() => _fixture.ConditionIsAsync("life", ConditionTypes.Ready, "True"), "Ready once a leader is reported");
        var ready = await _fixture.GetClusterAsync("life");
        Assert.Equal("True", OperatorFixture.Condition(ready, ConditionTypes.Available));
        Assert.Equal("False", OperatorFixture.Condition(ready, ConditionTypes.Degraded));
        Assert.Equal("False", OperatorFixture.Condition(ready, ConditionTypes.Progressing));
        Assert.Equal("life-0", ready.Status!.Leader);
        Assert.Equal(1, ready.Status.ObservedGeneration);

        admin.ElectLeader(2);
        await Eventually.TrueAsync(async () => (await _fixture.GetClusterAsync("life")).Status?.Leader == "life-1", "the new leader in status");
        Assert.Equal(2, (await _fixture.GetClusterAsync("life")).Status!.Term);

        admin.LoseLeader();
        await Eventually.TrueAsync(() => _fixture.ConditionIsAsync("life", ConditionTypes.Available, "False"), "Available=False after the leader is lost");

        // Events are written after the status that caused them: wait for the last one.
        HashSet<string> reasons = [];
        await Eventually.TrueAsync(async () =>
        {
            var events = await _fixture.Client.CoreV1.ListNamespacedEventAsync(OperatorFixture.Namespace);
            reasons = events.Items.Where(e => e.InvolvedObject.Name == "life").Select(e => e.Reason).ToHashSet();
            return reasons.Contains("LeaderLost");
        }, "a LeaderLost event");
        Assert.Contains("ClusterReady", reasons);
        Assert.Contains("LeaderElected", reasons);
        Assert.Contains("LeaderLost", reasons);
        Assert.Contains("NoLeader", reasons);
    }

    [Fact]
    public async Task InvalidSpec_SetsDegradedWithWhatToChange_AndAppliesNothing()
    {
        await _fixture.StartOperatorAsync(new FakeAgentAdmin(3));
        // The emulation, like an API server that does not enforce the CRD's bounds and CEL rules, accepts this.
        await _fixture.CreateClusterAsync("bad", 11, s => s.Timing = new TimingSpec { HeartbeatInterval = "600ms", ElectionTimeout = "1s" });

        await Eventually.TrueAsync(() => _fixture.ConditionIsAsync("bad", ConditionTypes.Degraded, "True"), "Degraded=True");
        var cluster = await _fixture.GetClusterAsync("bad");
        var degraded = cluster.Status!.Conditions!.Single(c => c.Type == ConditionTypes.Degraded);
        Assert.Equal("InvalidSpec", degraded.Reason);
        Assert.Contains("spec.replicas is 11; set it from 1 to 9", degraded.Message, StringComparison.Ordinal);
        Assert.Contains("less than half of electionTimeout", degraded.Message, StringComparison.Ordinal);
        Assert.Equal("Degraded", cluster.Status.Phase);
        Assert.Null(await _fixture.GetStatefulSetAsync("bad"));
        Assert.Null(_fixture.Api.Store.Get(EmulatedResources.ConfigMaps, OperatorFixture.Namespace, "bad-config"));

        // Fixing the spec applies it.
        cluster.Spec.Replicas = 3;
        cluster.Spec.Timing = new TimingSpec { HeartbeatInterval = "100ms", ElectionTimeout = "1s" };
        await _fixture.Client.CustomObjects.ReplaceNamespacedCustomObjectAsync(cluster, ConsensusCluster.ApiGroup, ConsensusCluster.ApiVersionName,
            OperatorFixture.Namespace, ConsensusCluster.Plural, "bad");
        await Eventually.TrueAsync(() => _fixture.ConditionIsAsync("bad", ConditionTypes.Ready, "True"), "Ready after the fix");
        Assert.Equal("False", OperatorFixture.Condition(await _fixture.GetClusterAsync("bad"), ConditionTypes.Degraded));
    }

    [Fact]
    public async Task ApiServerFaults_500sAndSlowAnswers_TheClusterStillConverges()
    {
        await _fixture.CreateClusterAsync("flaky", 3);
        _fixture.Api.Faults.Latency = TimeSpan.FromMilliseconds(30);
        _fixture.Api.Faults.FailNext(8, 500, (method, _) => method != "GET");
        await _fixture.StartOperatorAsync(new FakeAgentAdmin(3));

        await Eventually.TrueAsync(() => _fixture.ConditionIsAsync("flaky", ConditionTypes.Ready, "True"), "Ready despite faults", TimeSpan.FromSeconds(40));
        Assert.Contains(_fixture.Api.Requests, r => r.Status == 500 && r.UserAgent.StartsWith("operator", StringComparison.Ordinal));
    }
}
