using Kuorum.Api.V1;

namespace Kuorum.Client;

public sealed partial class KuorumClient
{
    /// <summary>Asks the sidecar who leads now. Retried while the sidecar is unavailable.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The current leadership (<see cref="LeadershipState.HasLeader"/> false between leaders).</returns>
    public async Task<LeadershipState> GetLeaderAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var info = await IdempotentCallAsync("GetLeader", ct => _leadership.GetLeaderAsync(new GetLeaderRequest(), cancellationToken: ct), cancellationToken)
            .ConfigureAwait(false);
        return LeadershipState.From(info);
    }

    /// <summary>
    /// Starts a <see cref="LeadershipWatcher"/>: events, an async stream, <c>IsLeader</c> and <c>Term</c>, kept
    /// current across broken streams. Dispose it when done (disposing the client also stops it).
    /// </summary>
    /// <returns>The running watcher.</returns>
    public LeadershipWatcher WatchLeadership()
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var watcher = new LeadershipWatcher(this, _leadership);
        Track(watcher);
        return watcher;
    }

    /// <summary>
    /// Hands leadership from the local sidecar (which must lead) to the most caught-up voter, for instance before a
    /// planned shutdown.
    /// </summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Who leads afterwards (<see cref="LeadershipTransferResult.LeaderId"/> 0 when nobody took over).</returns>
    public async Task<LeadershipTransferResult> ResignAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var response = await CallOnceAsync("Resign", ct => _leadership.ResignAsync(new ResignRequest(), cancellationToken: ct), cancellationToken)
            .ConfigureAwait(false);
        return new LeadershipTransferResult(response.NewLeaderId, response.Term);
    }

    /// <summary>Transfers leadership to <paramref name="targetId"/> (0: the most caught-up voter).</summary>
    /// <param name="targetId">Node id of the new leader, or 0 to let the cluster choose.</param>
    /// <param name="cancellationToken">Cancels the call; the agent itself gives up after two election timeouts.</param>
    /// <returns>Who leads afterwards.</returns>
    public async Task<LeadershipTransferResult> TransferLeadershipAsync(long targetId, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        ArgumentOutOfRangeException.ThrowIfNegative(targetId);
        var response = await CallOnceAsync(
                "TransferLeadership",
                ct => _leadership.TransferLeadershipAsync(new TransferLeadershipRequest { TargetId = targetId }, cancellationToken: ct),
                cancellationToken)
            .ConfigureAwait(false);
        return new LeadershipTransferResult(response.LeaderId, response.Term);
    }
}
