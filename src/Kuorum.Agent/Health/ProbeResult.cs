using System.Globalization;

namespace Kuorum.Agent.Health;

/// <summary>The outcome of one probe.</summary>
/// <param name="Success">Whether the application answered as healthy within the timeout.</param>
/// <param name="Latency">From sending the probe to its outcome (the timeout when it timed out).</param>
/// <param name="Detail">What was seen, for logs and status: <c>HTTP 200</c>, <c>connected</c>, <c>timed out after 500 ms</c>…</param>
public readonly record struct ProbeResult(bool Success, TimeSpan Latency, string Detail)
{
    /// <summary>A probe that got no answer within <paramref name="timeout"/>: a failure.</summary>
    public static ProbeResult TimedOut(TimeSpan timeout) =>
        new(false, timeout, $"timed out after {timeout.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)} ms");
}
