using Kuorum.Operator.Runtime;

namespace Kuorum.Operator.Tests.Runtime;

public sealed class WorkQueueTests
{
    [Fact]
    public async Task Add_SameItemTwice_IsQueuedOnce()
    {
        using var queue = NewQueue();
        queue.Add("a");
        queue.Add("a");
        queue.Add("b");
        Assert.Equal(2, queue.Depth);
        var (_, first) = await queue.GetAsync(CancellationToken.None);
        Assert.Equal("a", first);
        Assert.Equal(1, queue.Depth);
    }

    [Fact]
    public async Task Add_WhileProcessing_IsNotHandedOutUntilDone()
    {
        using var queue = NewQueue();
        queue.Add("a");
        var (_, item) = await queue.GetAsync(CancellationToken.None);
        queue.Add("a");
        Assert.Equal(0, queue.Depth); // not handed to a second worker while the first holds it
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await queue.GetAsync(timeout.Token));

        queue.Done(item);
        Assert.Equal(1, queue.Depth);
        var (ok, again) = await queue.GetAsync(CancellationToken.None);
        Assert.True(ok);
        Assert.Equal("a", again);
    }

    [Fact]
    public async Task AddAfter_DeliversAfterTheDelay()
    {
        using var queue = NewQueue();
        var started = DateTime.UtcNow;
        queue.AddAfter("late", TimeSpan.FromMilliseconds(150));
        Assert.Equal(0, queue.Depth);
        var (_, item) = await queue.GetAsync(CancellationToken.None);
        Assert.Equal("late", item);
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromMilliseconds(140));
    }

    [Fact]
    public async Task ShutDown_ReleasesWaitingWorkers()
    {
        var queue = NewQueue();
        var waiting = queue.GetAsync(CancellationToken.None).AsTask();
        queue.ShutDown();
        var (ok, _) = await waiting;
        Assert.False(ok);
        queue.Dispose();
    }

    [Fact]
    public void RateLimiter_PerItemBackoff_DoublesAndForgetResets()
    {
        var limiter = RateLimiter<string>.Default(TimeProvider.System);
        Assert.Equal(TimeSpan.FromMilliseconds(5), limiter.When("x"));
        Assert.Equal(TimeSpan.FromMilliseconds(10), limiter.When("x"));
        Assert.Equal(TimeSpan.FromMilliseconds(20), limiter.When("x"));
        Assert.Equal(TimeSpan.FromMilliseconds(5), limiter.When("y"));
        limiter.Forget("x");
        Assert.Equal(TimeSpan.FromMilliseconds(5), limiter.When("x"));
        for (var i = 0; i < 40; i++)
        {
            limiter.When("z");
        }

        Assert.Equal(TimeSpan.FromSeconds(1000), limiter.When("z"));
    }

    [Fact]
    public void RateLimiter_GlobalBucket_DelaysOnceTheBurstIsSpent()
    {
        // A stopped clock: a stall of the test thread must not refill the bucket between the asks.
        var limiter = new RateLimiter<int>(new StoppedClock(), TimeSpan.Zero, TimeSpan.Zero, ratePerSecond: 10, burst: 5);
        var delays = Enumerable.Range(0, 8).Select(limiter.When).ToList();
        Assert.All(delays.Take(5), d => Assert.Equal(TimeSpan.Zero, d));
        Assert.InRange(delays[7].TotalMilliseconds, 299.9, 300.1);
    }

    private sealed class StoppedClock : TimeProvider
    {
        public override long GetTimestamp() => 1_000_000;
    }

    private static WorkQueue<string> NewQueue() => new(TimeProvider.System, RateLimiter<string>.Default(TimeProvider.System));
}
