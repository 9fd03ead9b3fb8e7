using Kuorum.Operator.Resources;
using Kuorum.Operator.Tests.Emulation;
using Kuorum.Operator.Tests.Reconciliation;

namespace Kuorum.Operator.Tests.Runtime;

/// <summary>The operator as a process (in-process host): leader election between instances, /metrics, /healthz, /readyz.</summary>
public sealed class OperatorProcessTests : IAsyncLifetime
{
    private OperatorFixture _fixture = null!;

    public async Task InitializeAsync() => _fixture = await OperatorFixture.StartAsync();

    public async Task DisposeAsync() => await _fixture.DisposeAsync();

    [Fact]
    public async Task TwoInstances_OnlyTheLeaseHolderReconciles_AndTheOtherTakesOverWhenItStops()
    {
        var admin = new FakeAgentAdmin(3);
        var a = await _fixture.StartOperatorAsync(admin, "operator-a", leaderElect: true);
        var b = await _fixture.StartOperatorAsync(admin, "operator-b", leaderElect: true);
        await Eventually.TrueAsync(() => a.Health.Leading || b.Health.Leading, "one instance to lead");
        var (leader, standby) = a.Health.Leading ? (a, b) : (b, a);
        Assert.False(standby.Health.Leading);

        await _fixture.CreateClusterAsync("first", 3);
        await Eventually.TrueAsync(() => _fixture.ConditionIsAsync("first", ConditionTypes.Ready, "True"), "the first cluster Ready");
        Assert.DoesNotContain(_fixture.Api.Requests, r => r.UserAgent == standby.Options.Identity && r.IsWrite && !r.Path.Contains("/leases", StringComparison.Ordinal));
        Assert.Contains(_fixture.Api.Requests, r => r.UserAgent == leader.Options.Identity && r.IsWrite && r.Path.Contains("/statefulsets", StringComparison.Ordinal));
        using (var http = new HttpClient())
        {
            Assert.Equal("ok: standby", await http.GetStringAsync(standby.HealthUrl + "/readyz"));
        }

        await leader.StopAsync();
        var lease = _fixture.Api.Store.Get(EmulatedResources.Leases, "kuorum-system", "kuorum-operator");
        Assert.Equal("", lease?["spec"]?["holderIdentity"]?.GetValue<string>()); // released on shutdown
        await Eventually.TrueAsync(() => standby.Health.Leading, "the standby to take over");

        await _fixture.CreateClusterAsync("second", 3);
        await Eventually.TrueAsync(() => _fixture.ConditionIsAsync("second", ConditionTypes.Ready, "True"), "the second cluster Ready");
        Assert.Contains(_fixture.Api.Requests, r => r.UserAgent == standby.Options.Identity && r.IsWrite && r.Path.Contains("/statefulsets", StringComparison.Ordinal));
    }

    [Fact]
    public async Task LosingTheLease_StopsReconciling()
    {
        var admin = new FakeAgentAdmin(3);
        var a = await _fixture.StartOperatorAsync(admin, "operator-a", leaderElect: true);
        await Eventually.TrueAsync(() => a.Health.Leading, "the instance to lead");

        // Another holder takes the lease behind the operator's back and the API server refuses its renewals.
        _fixture.Api.Store.Mutate(EmulatedResources.Leases, "kuorum-system", "kuorum-operator", o =>
        {
            o["spec"]!["holderIdentity"] = "someone-else";
            o["spec"]!["renewTime"] = DateTime.UtcNow.AddMinutes(10).ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", System.Globalization.CultureInfo.InvariantCulture);
            o["spec"]!["leaseDurationSeconds"] = 600;
            return o;
        }, null);
        await Eventually.TrueAsync(() => !a.Health.Leading, "the instance to stop leading");

        await _fixture.CreateClusterAsync("orphan", 3);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Null(await _fixture.GetStatefulSetAsync("orphan"));
    }

    [Fact]
    public async Task Endpoints_ServeMetricsHealthAndReadiness()
    {
        var op = await _fixture.StartOperatorAsync(new FakeAgentAdmin(3));
        await _fixture.CreateClusterAsync("observed", 3);
        await Eventually.TrueAsync(() => _fixture.ConditionIsAsync("observed", ConditionTypes.Ready, "True"), "Ready");

        using var http = new HttpClient();
        Assert.Equal("ok", await http.GetStringAsync(op.HealthUrl + "/healthz"));
        Assert.Equal("ok: leading", await http.GetStringAsync(op.HealthUrl + "/readyz"));
        string metrics = "";
        await Eventually.TrueAsync(async () =>
        {
            metrics = await http.GetStringAsync(op.MetricsUrl + "/metrics");
            return metrics.Contains("kuorum_operator_reconciles_total", StringComparison.Ordinal);
        }, "reconcile metrics");
        Assert.Contains("kuorum_operator_reconcile_duration_seconds", metrics, StringComparison.Ordinal);
        Assert.Contains("kuorum_operator_workqueue_depth", metrics, StringComparison.Ordinal);
        Assert.Contains("kuorum_operator_object_writes_total", metrics, StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync(op.HealthUrl + "/metrics")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync(op.MetricsUrl + "/healthz")).StatusCode);
    }
}
