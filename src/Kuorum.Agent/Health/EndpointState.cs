namespace Kuorum.Agent.Health;

/// <summary>Why an endpoint has the weight it has.</summary>
public enum EndpointState
{
    /// <summary>Takes traffic by its tier, latency and slow start.</summary>
    Serving,

    /// <summary>Critical and ejected: weight 0.</summary>
    Ejected,

    /// <summary>Critical, but ejecting it would exceed the ejection cap: kept at the minimum weight.</summary>
    Retained,

    /// <summary>Its agent does not answer the leader: weight 0.</summary>
    Down,

    /// <summary>Panic mode (no alive endpoint is serving): every alive endpoint gets the same weight.</summary>
    Panic,
}
