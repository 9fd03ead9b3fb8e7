namespace Kuorum.Benchmarks.Cluster;

/// <summary>
/// A replicated key-value store of three members on loopback, as the load generator sees it: a client per member
/// endpoint, who leads, SIGKILL and restart of one member. <see cref="KuorumCluster"/> and <see cref="EtcdCluster"/>
/// implement it, so both are driven by the same <see cref="LoadGenerator"/> code, with the same client settings.
/// </summary>
public interface IClusterUnderTest : IAsyncDisposable
{
    /// <summary>Short name in the results (<c>kuorum</c>, <c>etcd</c>).</summary>
    string System { get; }

    /// <summary>Version and timing settings, for the report.</summary>
    string Description { get; }

    /// <summary>Number of members (3).</summary>
    int Members { get; }

    /// <summary>Starts every member and waits until they agree on a leader.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>A client of member <paramref name="member"/>'s endpoint (0-based); the same object until the member restarts.</summary>
    IKvClient Client(int member);

    /// <summary>The member every running member names as leader (0-based), waiting up to <paramref name="timeout"/>.</summary>
    Task<int> LeaderAsync(TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>SIGKILL of the member's process; returns once the process is gone.</summary>
    Task KillAsync(int member);

    /// <summary>Starts a killed member again on its data directory and ports.</summary>
    Task RestartAsync(int member, CancellationToken cancellationToken);

    /// <summary>The tail of the members' output, for error messages.</summary>
    string Dump();
}

/// <summary>The two calls the load generator makes. Both throw on failure (deadline, unavailable, refused).</summary>
public interface IKvClient
{
    /// <summary>Writes <paramref name="value"/> at <paramref name="key"/>; completes when the store acknowledged it.</summary>
    Task PutAsync(Google.Protobuf.ByteString key, Google.Protobuf.ByteString value, DateTime deadline, CancellationToken cancellationToken);

    /// <summary>A linearizable read of <paramref name="key"/> (each store's default consistency); true when it exists.</summary>
    Task<bool> GetAsync(Google.Protobuf.ByteString key, DateTime deadline, CancellationToken cancellationToken);
}
