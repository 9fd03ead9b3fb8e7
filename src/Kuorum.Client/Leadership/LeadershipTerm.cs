namespace Kuorum.Client;

/// <summary>
/// One term during which this application's sidecar leads. Do leader-only work while <see cref="Lost"/> is not
/// cancelled, and tag every side effect with <see cref="Term"/> (the fencing token) so that storage can refuse
/// the writes of a deposed leader.
/// </summary>
public sealed class LeadershipTerm
{
    private readonly CancellationTokenSource _lost = new();

    internal LeadershipTerm(long term, long leaderId)
    {
        Term = term;
        LeaderId = leaderId;
    }

    /// <summary>The Raft term: the fencing token of this leadership.</summary>
    public long Term { get; }

    /// <summary>Node id of the local sidecar, the leader.</summary>
    public long LeaderId { get; }

    /// <summary>
    /// Cancelled as soon as this leadership can no longer be trusted: another leader or term is reported, the
    /// sidecar becomes unreachable, or the watcher is disposed.
    /// </summary>
    public CancellationToken Lost => _lost.Token;

    /// <summary>True once <see cref="Lost"/> has fired.</summary>
    public bool IsLost => _lost.IsCancellationRequested;

    internal void End() => _lost.Cancel();
}
