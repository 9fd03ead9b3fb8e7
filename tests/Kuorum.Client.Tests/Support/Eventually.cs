namespace Kuorum.Client.Tests.Support;

/// <summary>Waits for a condition with a deadline, instead of sleeping and hoping.</summary>
internal static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    public static async Task HoldsAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting until {what}");
            }

            await Task.Delay(10);
        }
    }

    /// <summary>Awaits <paramref name="task"/>, failing the test if it takes longer than the deadline.</summary>
    public static async Task<T> WithinAsync<T>(Task<T> task, string what, TimeSpan? timeout = null)
    {
        try
        {
            return await task.WaitAsync(timeout ?? DefaultTimeout);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"timed out waiting for {what}");
            throw;
        }
    }

    /// <summary>Awaits <paramref name="task"/>, failing the test if it takes longer than the deadline.</summary>
    public static async Task WithinAsync(Task task, string what, TimeSpan? timeout = null)
    {
        try
        {
            await task.WaitAsync(timeout ?? DefaultTimeout);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"timed out waiting for {what}");
        }
    }

    /// <summary>Completes when <paramref name="token"/> is cancelled.</summary>
    public static Task CancelledAsync(CancellationToken token)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        token.Register(() => signal.TrySetResult());
        return signal.Task;
    }
}
