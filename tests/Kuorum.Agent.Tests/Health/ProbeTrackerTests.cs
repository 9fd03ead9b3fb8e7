using Kuorum.Agent.Health;

namespace Kuorum.Agent.Tests.Health;

/// <summary>The tier rules: thresholds, initial delay, slowness, hysteresis and the latency average, on a hand-fed clock.</summary>
public sealed class ProbeTrackerTests
{
    private static readonly ProbeResult _good = new(true, TimeSpan.FromMilliseconds(2), "HTTP 200");
    private static readonly ProbeResult _slow = new(true, TimeSpan.FromMilliseconds(300), "HTTP 200");
    private static readonly ProbeResult _failed = new(false, TimeSpan.FromMilliseconds(1), "HTTP 503");
    private static readonly ProbeSettings _http = new() { Kind = ProbeKind.Http, Port = 8080 };

    private static TimeSpan Second(int n) => TimeSpan.FromSeconds(n);

    /// <summary>Feeds results one second apart from t = 1 s; returns the tier after each.</summary>
    private static List<HealthTier> Feed(ProbeTracker tracker, params ProbeResult[] results)
    {
        var tiers = new List<HealthTier>();
        var start = (int)tracker.Counted + 1;
        for (var i = 0; i < results.Length; i++)
        {
            tracker.Record(results[i], Second(start + i));
            tiers.Add(tracker.Tier);
        }

        return tiers;
    }

    [Fact]
    public void NothingCounted_IsUnknown_AndOneSuccessMakesPassing()
    {
        var tracker = new ProbeTracker(_http, TimeSpan.Zero);
        Assert.Equal(HealthTier.Unknown, tracker.Tier);
        Assert.True(tracker.Record(_good, Second(1)));
        Assert.True(tracker.Changed);
        Assert.Equal(HealthTier.Passing, tracker.Tier);
        Assert.Equal(Second(1), tracker.TierChangedAt);
        Assert.False(tracker.Record(_good, Second(2)));
        Assert.False(tracker.Changed);
    }

    [Fact]
    public void SuccessThreshold_PassingNeedsThatManySuccessesInARow()
    {
        var tracker = new ProbeTracker(_http with { SuccessThreshold = 3 }, TimeSpan.Zero);
        Assert.Equal([HealthTier.Unknown, HealthTier.Unknown, HealthTier.Passing], Feed(tracker, _good, _good, _good));
    }

    [Fact]
    public void FailuresBelowTheThreshold_AreWarning_AndTheThresholdMakesCritical()
    {
        var tracker = new ProbeTracker(_http, TimeSpan.Zero);
        Assert.Equal(
            [HealthTier.Passing, HealthTier.Warning, HealthTier.Warning, HealthTier.Critical, HealthTier.Critical],
            Feed(tracker, _good, _failed, _failed, _failed, _failed));
        Assert.Equal(4, tracker.ConsecutiveFailures);
        Assert.Equal(0, tracker.ConsecutiveSuccesses);
    }

    [Fact]
    public void FailureThresholdOne_OneFailureIsCritical()
    {
        var tracker = new ProbeTracker(_http with { FailureThreshold = 1 }, TimeSpan.Zero);
        Assert.Equal([HealthTier.Passing, HealthTier.Critical], Feed(tracker, _good, _failed));
    }

    [Fact]
    public void ResultsBeforeTheInitialDelay_AreIgnored()
    {
        var tracker = new ProbeTracker(_http with { InitialDelay = TimeSpan.FromSeconds(5) }, startedAt: Second(10));
        Assert.False(tracker.Record(_failed, Second(10)));
        tracker.Record(_failed, Second(12));
        tracker.Record(_failed, Second(15) - TimeSpan.FromTicks(1));
        Assert.Equal(HealthTier.Unknown, tracker.Tier);
        Assert.Equal(0, tracker.Counted);
        Assert.Equal(0, tracker.ConsecutiveFailures);
        Assert.Null(tracker.LastResult);

        Assert.True(tracker.Record(_good, Second(15)));
        Assert.Equal(HealthTier.Passing, tracker.Tier);
        Assert.Equal(1, tracker.Counted);
    }

    [Fact]
    public void ASlowSuccess_IsWarning_UnlessTheSlowThresholdIsOff()
    {
        var tracker = new ProbeTracker(_http, TimeSpan.Zero);
        Assert.Equal([HealthTier.Passing, HealthTier.Warning], Feed(tracker, _good, _slow));

        var off = new ProbeTracker(_http with { SlowThreshold = TimeSpan.Zero }, TimeSpan.Zero);
        Assert.Equal([HealthTier.Passing, HealthTier.Passing], Feed(off, _slow, _slow));
    }

    [Fact]
    public void Warning_BackToPassing_NeedsRecoveryThresholdGoodResultsInARow()
    {
        // Recovery threshold = max(1, 3) = 3; a slow result starts the count again.
        var tracker = new ProbeTracker(_http, TimeSpan.Zero);
        Assert.Equal(
            [HealthTier.Passing, HealthTier.Warning, HealthTier.Warning, HealthTier.Warning, HealthTier.Warning, HealthTier.Warning, HealthTier.Warning, HealthTier.Passing],
            Feed(tracker, _good, _failed, _good, _good, _slow, _good, _good, _good));
    }

    [Fact]
    public void FlappingApplication_StaysWarning_InsteadOfFlappingItsTier()
    {
        var tracker = new ProbeTracker(_http, TimeSpan.Zero);
        Feed(tracker, _good);
        var changes = 0;
        for (var i = 0; i < 40; i++)
        {
            // One probe in three fails: never three failures in a row, never three good results in a row.
            var result = i % 3 == 0 ? _failed : _good;
            changes += tracker.Record(result, Second(2 + i)) ? 1 : 0;
            Assert.Equal(HealthTier.Warning, tracker.Tier);
        }

        Assert.Equal(1, changes);
    }

    [Fact]
    public void LeavingCritical_NeedsSuccessThresholdSuccesses_AndGoesThroughWarning()
    {
        var tracker = new ProbeTracker(_http with { SuccessThreshold = 2, FailureThreshold = 2 }, TimeSpan.Zero);
        Assert.Equal(
            [HealthTier.Unknown, HealthTier.Passing, HealthTier.Warning, HealthTier.Critical, HealthTier.Critical, HealthTier.Warning, HealthTier.Passing],
            Feed(tracker, _good, _good, _failed, _failed, _good, _good, _good));

        // A slow success also counts towards leaving critical, but only to warning.
        Feed(tracker, _failed, _failed);
        Assert.Equal([HealthTier.Critical, HealthTier.Warning, HealthTier.Warning], Feed(tracker, _slow, _slow, _good));
    }

    [Fact]
    public void CriticalFlapping_NeverReachesPassing()
    {
        var tracker = new ProbeTracker(_http, TimeSpan.Zero);
        var seen = new HashSet<HealthTier>();
        for (var round = 0; round < 10; round++)
        {
            seen.UnionWith(Feed(tracker, _failed, _failed, _failed, _good));
        }

        Assert.DoesNotContain(HealthTier.Passing, seen);
        Assert.Equal(HealthTier.Warning, tracker.Tier);
    }

    [Fact]
    public void LatencyEwma_SeedsWithTheFirstSuccess_MovesByAlpha_AndIgnoresFailures()
    {
        var tracker = new ProbeTracker(_http, TimeSpan.Zero);
        Assert.Equal(TimeSpan.Zero, tracker.LatencyEwma);
        tracker.Record(new ProbeResult(true, TimeSpan.FromMilliseconds(10), "ok"), Second(1));
        Assert.Equal(TimeSpan.FromMilliseconds(10), tracker.LatencyEwma);
        tracker.Record(new ProbeResult(true, TimeSpan.FromMilliseconds(20), "ok"), Second(2));
        Assert.Equal(TimeSpan.FromMilliseconds(13), tracker.LatencyEwma);
        tracker.Record(ProbeResult.TimedOut(TimeSpan.FromMilliseconds(500)), Second(3));
        Assert.Equal(TimeSpan.FromMilliseconds(13), tracker.LatencyEwma);
        tracker.Record(new ProbeResult(true, TimeSpan.FromMilliseconds(20), "ok"), Second(4));
        Assert.Equal(TimeSpan.FromMilliseconds(15.1), tracker.LatencyEwma);
        Assert.Equal(0.3, ProbeTracker.LatencyAlpha);
    }

    [Fact]
    public void KindNone_IsPassingFromTheStart()
    {
        var tracker = new ProbeTracker(new ProbeSettings(), TimeSpan.Zero);
        Assert.Equal(HealthTier.Passing, tracker.Tier);
    }

    [Fact]
    public void Snapshot_CarriesTheState()
    {
        var tracker = new ProbeTracker(_http, TimeSpan.Zero);
        Feed(tracker, _good, _failed);
        var status = tracker.Snapshot();
        Assert.Equal(new ProbeStatus(HealthTier.Warning, TimeSpan.FromMilliseconds(2), 1, 0, _failed, Second(2), 2), status);
    }
}
