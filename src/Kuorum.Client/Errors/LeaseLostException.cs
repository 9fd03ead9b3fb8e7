namespace Kuorum.Client;

/// <summary>
/// A lease ended (expired, revoked, or could not be renewed in time) while an operation depended on it, for
/// instance while <see cref="KuorumClient.AcquireLockAsync"/> was waiting for its lock.
/// </summary>
public sealed class LeaseLostException : KuorumException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="leaseId">The lease that ended.</param>
    /// <param name="message">What depended on it.</param>
    public LeaseLostException(long leaseId, string message)
        : base(message)
    {
        LeaseId = leaseId;
    }

    /// <summary>The lease that ended.</summary>
    public long LeaseId { get; }
}
