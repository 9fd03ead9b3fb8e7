using System.Net.Sockets;

namespace Kuorum.Agent.Health;

/// <summary>What every probe kind shares: the clock, the timeout, and turning exceptions into failed results.</summary>
internal static class ProbeExecution
{
    private const int MaxDetailLength = 200;

    /// <summary>
    /// Runs <paramref name="check"/> under <paramref name="timeout"/> measured on <paramref name="time"/>. A check that
    /// throws is a failure described by the exception; one cut off by the timeout, or finishing after it, timed out.
    /// </summary>
    public static async Task<ProbeResult> RunAsync(
        TimeProvider time, TimeSpan timeout, Func<CancellationToken, Task<(bool Success, string Detail)>> check, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var deadline = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var started = time.GetTimestamp();
        try
        {
            var (success, detail) = await check(linked.Token).ConfigureAwait(false);
            var latency = time.GetElapsedTime(started);
            return latency > timeout || deadline.IsCancellationRequested
                ? ProbeResult.TimedOut(timeout)
                : new ProbeResult(success, latency, Truncate(detail));
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (Exception e) when (deadline.IsCancellationRequested || e is TimeoutException || e.InnerException is TimeoutException)
        {
            return ProbeResult.TimedOut(timeout);
        }
        catch (Exception e)
        {
            return new ProbeResult(false, time.GetElapsedTime(started), Truncate(Describe(e)));
        }
    }

    private static string Describe(Exception e) => e switch
    {
        SocketException socket => socket.SocketErrorCode == SocketError.ConnectionRefused ? "connection refused" : socket.Message,
        HttpRequestException { InnerException: SocketException socket } => Describe(socket),
        HttpRequestException http => http.Message,
        _ => e.GetBaseException().Message,
    };

    private static string Truncate(string text) => text.Length <= MaxDetailLength ? text : text[..MaxDetailLength] + "…";
}
