namespace Kuorum.Agent.Health;

public sealed partial class ProbeRunner
{
    // Event ids 3000-3099: application health probing.
    private static partial class Log
    {
        [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "application health is now {Tier} (last probe: {Detail}; latency average {LatencyMs} ms)")]
        public static partial void TierChanged(ILogger logger, HealthTier tier, string detail, double latencyMs);

        [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "{Kind} probe failed ({Failures} in a row): {Detail}")]
        public static partial void ProbeFailed(ILogger logger, ProbeKind kind, string detail, int failures);

        [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "a probe event handler threw; probing goes on")]
        public static partial void HandlerFailed(ILogger logger, Exception exception);
    }
}
