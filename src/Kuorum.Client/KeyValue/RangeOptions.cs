namespace Kuorum.Client;

/// <summary>How <see cref="KuorumClient.RangeAsync(KuorumKey, RangeOptions, CancellationToken)"/> reads a prefix.</summary>
public sealed class RangeOptions
{
    /// <summary>At most this many keys; 0 for the agent's maximum (10,000).</summary>
    public int Limit { get; init; }

    /// <summary>Return keys and metadata without values.</summary>
    public bool KeysOnly { get; init; }

    /// <summary>The read's consistency; null for <see cref="KuorumClientOptions.DefaultReadConsistency"/>.</summary>
    public ReadConsistency? Consistency { get; init; }
}
