using Kuorum.Agent.Health;

namespace Kuorum.Agent.Tests.Health;

/// <summary>The runner: schedule on an injected clock, tier events, kind none, and real probes against a slow application.</summary>
public sealed class ProbeRunnerTests
{
    private static readonly ProbeSettings _tcp = new() { Kind = ProbeKind.Tcp, Port = 9 };

    [Fact]
    public async Task Run_WaitsTheInitialDelay_ThenProbesOncePerPeriod()
    {
        var time = new ManualTimeProvider();
        var probe = new ScriptedProbe();
        await using var runner = new ProbeRunner(_tcp with { InitialDelay = TimeSpan.FromSeconds(2) }, probe, time);
        runner.Start();
        await Eventually.TrueAsync(() => time.ActiveTimers == 1, "the runner waits for the initial delay");

        time.Advance(TimeSpan.FromMilliseconds(1999));
        Assert.Equal(0, probe.Calls);
        time.Advance(TimeSpan.FromMilliseconds(1));
        await Eventually.TrueAsync(() => probe.Calls == 1, "the first probe, at the end of the initial delay");
        await Eventually.TrueAsync(() => runner.Current.Tier == HealthTier.Passing, "the first success counts");

        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Equal(1, probe.Calls);
        time.Advance(TimeSpan.FromMilliseconds(1));
        await Eventually.TrueAsync(() => probe.Calls == 2, "the second probe, one period later");
        time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(() => probe.Calls == 3, "the third probe");
        Assert.Equal(3, runner.Current.Counted);
    }

    [Fact]
    public async Task TierChanged_IsRaisedOnEachChange_WithTheNewState()
    {
        var time = new ManualTimeProvider();
        var probe = new ScriptedProbe(ScriptedProbe.Good, ScriptedProbe.Bad, ScriptedProbe.Bad, ScriptedProbe.Bad, ScriptedProbe.Good, ScriptedProbe.Good);
        await using var runner = new ProbeRunner(_tcp, probe, time);
        var changes = new List<HealthTier>();
        var probed = 0;
        runner.TierChanged += (_, status) => changes.Add(status.Tier);
        runner.Probed += (_, _) => probed++;

        var tiers = new List<HealthTier>();
        for (var i = 0; i < 6; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            tiers.Add((await runner.ProbeOnceAsync(CancellationToken.None)).Tier);
        }

        Assert.Equal([HealthTier.Passing, HealthTier.Warning, HealthTier.Warning, HealthTier.Critical, HealthTier.Warning, HealthTier.Warning], tiers);
        Assert.Equal([HealthTier.Passing, HealthTier.Warning, HealthTier.Critical, HealthTier.Warning], changes);
        Assert.Equal(6, probed);
        Assert.Equal(HealthTier.Warning, runner.Current.Tier);
        Assert.Equal(TimeSpan.FromSeconds(5), runner.Current.TierChangedAt);
        Assert.Equal(2, runner.Current.ConsecutiveSuccesses);
    }

    [Fact]
    public async Task AThrowingHandler_DoesNotStopProbing()
    {
        var probe = new ScriptedProbe(ScriptedProbe.Good, ScriptedProbe.Bad);
        await using var runner = new ProbeRunner(_tcp, probe, new ManualTimeProvider());
        runner.TierChanged += (_, _) => throw new InvalidOperationException("handler bug");
        await runner.ProbeOnceAsync(CancellationToken.None);
        var status = await runner.ProbeOnceAsync(CancellationToken.None);
        Assert.Equal(HealthTier.Warning, status.Tier);
        Assert.Equal(2, probe.Calls);
    }

    [Fact]
    public async Task KindNone_IsPassing_AndProbesNothing()
    {
        await using var runner = ProbeRunner.Create(new ProbeSettings(), new ManualTimeProvider());
        Assert.Equal(HealthTier.Passing, runner.Current.Tier);
        var run = runner.RunAsync(CancellationToken.None);
        Assert.True(run.IsCompleted);
        Assert.Equal(HealthTier.Passing, (await runner.ProbeOnceAsync(CancellationToken.None)).Tier);
        Assert.Equal(0, runner.Current.Counted);
    }

    [Fact]
    public void AProbeKindWithoutAProbe_IsRefused()
    {
        var error = Assert.Throws<ArgumentNullException>(() => new ProbeRunner(_tcp, null, TimeProvider.System));
        Assert.Contains("a tcp probe needs an IProbe", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RealHttpProbe_SlowApplication_GoesCriticalOnTimeouts_AndRecoversWhenFastAgain()
    {
        await using var app = await LocalApplication.StartAsync();
        var settings = new ProbeSettings
        {
            Kind = ProbeKind.Http,
            Port = app.HttpPort,
            Path = "/healthz",
            Period = TimeSpan.FromMilliseconds(500),
            Timeout = TimeSpan.FromMilliseconds(400),
            SlowThreshold = TimeSpan.Zero,
            FailureThreshold = 2,
        };
        await using var runner = ProbeRunner.Create(settings, TimeProvider.System);
        var changes = new List<HealthTier>();
        runner.TierChanged += (_, status) =>
        {
            lock (changes)
            {
                changes.Add(status.Tier);
            }
        };
        runner.Start();
        await Eventually.TrueAsync(() => runner.Current.Tier == HealthTier.Passing, "the application is passing");
        lock (changes)
        {
            changes.Clear();
        }

        app.Delay = TimeSpan.FromSeconds(5);
        await Eventually.TrueAsync(() => runner.Current.Tier == HealthTier.Critical, "timeouts make it critical");
        Assert.Equal("timed out after 400 ms", runner.Current.LastResult?.Detail);

        app.Delay = TimeSpan.Zero;
        await Eventually.TrueAsync(() => runner.Current.Tier == HealthTier.Passing, "it is passing again");
        lock (changes)
        {
            Assert.Equal([HealthTier.Warning, HealthTier.Critical, HealthTier.Warning, HealthTier.Passing], changes);
        }
    }
}
