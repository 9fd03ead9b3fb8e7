namespace Kuorum.Agent.Health;

/// <summary>
/// How healthy an application is, worst last. The numeric values are those of <c>kuorum.v1.Health</c>, so a tier
/// converts to the wire enum with a cast.
/// </summary>
public enum HealthTier
{
    /// <summary>Not known: no probe result counted yet, or (in weighting) no recent report.</summary>
    Unknown = 0,

    /// <summary>Probes succeed, fast enough.</summary>
    Passing = 1,

    /// <summary>Degraded: probes are slow, or failing fewer times in a row than the failure threshold.</summary>
    Warning = 2,

    /// <summary>Failing: at least failure-threshold probes in a row failed.</summary>
    Critical = 3,
}
