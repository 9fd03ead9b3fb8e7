namespace Kuorum.Agent.Health;

/// <summary>
/// One way of checking the local application. A probe never throws for an unhealthy or unreachable application: every
/// such outcome, a timeout included, is a failed <see cref="ProbeResult"/>. It throws
/// <see cref="OperationCanceledException"/> only when the caller's token is cancelled.
/// </summary>
public interface IProbe
{
    /// <summary>Checks the application once, bounded by the probe's timeout.</summary>
    Task<ProbeResult> ProbeAsync(CancellationToken cancellationToken);
}
