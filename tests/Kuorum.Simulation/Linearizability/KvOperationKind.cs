namespace Kuorum.Simulation.Linearizability;

/// <summary>The operations a client can issue against the replicated key-value store.</summary>
public enum KvOperationKind
{
    Put,
    Get,
    CompareAndSwap,
}
