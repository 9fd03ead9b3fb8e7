namespace Kuorum.Client;

/// <summary>
/// A watch asked for history the sidecar no longer keeps: its log was compacted past the revision the watch needed.
/// Read the current state (GetAsync or RangeAsync give its revision) and watch again from
/// <see cref="CompactRevision"/> or later.
/// </summary>
public sealed class WatchCompactedException : KuorumException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="key">The watched key or prefix, for the message.</param>
    /// <param name="requestedRevision">The revision the watch asked to start from.</param>
    /// <param name="compactRevision">The oldest revision the sidecar still holds.</param>
    public WatchCompactedException(string key, long requestedRevision, long compactRevision)
        : base($"the watch on '{key}' cannot start at revision {requestedRevision}: the sidecar compacted its history " +
               $"and keeps revisions from {compactRevision} on. Read the current state and watch again from revision " +
               $"{compactRevision} or later.")
    {
        RequestedRevision = requestedRevision;
        CompactRevision = compactRevision;
    }

    /// <summary>The revision the watch asked to start from (after a reconnection: the one after the last event delivered).</summary>
    public long RequestedRevision { get; }

    /// <summary>The oldest revision the sidecar still holds; watching from here on works.</summary>
    public long CompactRevision { get; }
}
