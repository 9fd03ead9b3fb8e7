namespace Kuorum.Client;

/// <summary>The health tier of a member's application, from its agent's probes.</summary>
public enum EndpointHealth
{
    /// <summary>Not probed yet.</summary>
    Unknown = 0,

    /// <summary>Healthy.</summary>
    Passing = 1,

    /// <summary>Degraded: serve it less.</summary>
    Warning = 2,

    /// <summary>Failing: do not serve it.</summary>
    Critical = 3,
}
