using Grpc.Core;

namespace Kuorum.Agent.Tests.Harness;

/// <summary>How tests call a cluster whose leader may change at any moment on a loaded machine.</summary>
public static class Calls
{
    /// <summary>
    /// Retries a call the agent refused with UNAVAILABLE (no leader yet, or a write lost to a leadership change, which
    /// the agent reports as not applied), for up to 20 s, as an application would.
    /// </summary>
    public static async Task<T> RetryWhileUnavailableAsync<T>(Func<Task<T>> call)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                return await call();
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }
}
