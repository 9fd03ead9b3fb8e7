namespace Kuorum.Agent.Health;

/// <summary>How the agent checks its local application.</summary>
public enum ProbeKind
{
    /// <summary>No probe: the application always counts as passing.</summary>
    None,

    /// <summary>HTTP GET; a status of 200 to 399 succeeds.</summary>
    Http,

    /// <summary>A TCP connect succeeds.</summary>
    Tcp,

    /// <summary><c>grpc.health.v1.Health/Check</c>; <c>SERVING</c> succeeds.</summary>
    Grpc,
}
