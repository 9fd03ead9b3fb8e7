using System.Runtime.CompilerServices;
using Grpc.Core;
using Kuorum.Api.V1;
using Kuorum.Client.Internal;

namespace Kuorum.Client;

public sealed partial class KuorumClient
{
    /// <summary>Reads the cluster's endpoint table. Retried while the sidecar is unavailable.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The current table.</returns>
    public async Task<EndpointSnapshot> ListEndpointsAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var table = await IdempotentCallAsync("Endpoints.List", ct => _endpoints.ListAsync(new EndpointsRequest(), cancellationToken: ct), cancellationToken)
            .ConfigureAwait(false);
        return new EndpointSnapshot(table);
    }

    /// <summary>
    /// The endpoint table now, then each new version, reopening the stream whenever it breaks (a version already
    /// delivered is not repeated). Ends only when <paramref name="cancellationToken"/> fires.
    /// </summary>
    /// <param name="cancellationToken">Ends the watch.</param>
    /// <returns>Successive versions of the table.</returns>
    public IAsyncEnumerable<EndpointSnapshot> WatchEndpointsAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return WatchEndpointsCoreAsync(cancellationToken);
    }

    /// <summary>
    /// Starts a <see cref="KuorumEndpointPicker"/>: it follows the endpoint table (a watch, reopened whenever it breaks)
    /// and picks with the table's strategy, or with <paramref name="strategy"/> when given. Dispose it when done
    /// (disposing the client also stops it).
    /// </summary>
    /// <param name="strategy">A fixed strategy (see <see cref="EndpointStrategies"/>); null to follow the table's.</param>
    /// <returns>The running picker; await <see cref="KuorumEndpointPicker.WaitForTableAsync"/> before the first pick.</returns>
    /// <exception cref="ArgumentException"><paramref name="strategy"/> is not a known strategy.</exception>
    public KuorumEndpointPicker CreateEndpointPicker(string? strategy = null)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        string? normalized = null;
        if (strategy is not null && !EndpointStrategies.TryNormalize(strategy, out normalized))
        {
            throw new ArgumentException(
                $"unknown endpoint strategy '{strategy}'; expected one of {string.Join(", ", EndpointStrategies.All)}.", nameof(strategy));
        }

        var picker = new KuorumEndpointPicker(this, normalized);
        Track(picker);
        return picker;
    }

    private async IAsyncEnumerable<EndpointSnapshot> WatchEndpointsCoreAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var backoff = NewBackoff();
        string? lastSeen = null;
        while (true)
        {
            using (var call = _endpoints.Watch(new EndpointsRequest(), cancellationToken: cancellationToken))
            {
                var reason = "the sidecar ended the stream";
                while (true)
                {
                    EndpointTable? table = null;
                    try
                    {
                        if (await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
                        {
                            table = call.ResponseStream.Current;
                        }
                    }
                    catch (RpcException e) when (cancellationToken.IsCancellationRequested)
                    {
                        throw RpcErrors.Translate(e, "Endpoints.Watch", _sidecar, cancellationToken);
                    }
                    catch (RpcException e) when (RpcErrors.IsTransient(e))
                    {
                        reason = $"{e.StatusCode}: {e.Status.Detail}";
                    }
                    catch (RpcException e)
                    {
                        throw RpcErrors.Map(e, "Endpoints.Watch", _sidecar);
                    }
                    catch (IOException e)
                    {
                        reason = e.Message;
                    }

                    if (table is null)
                    {
                        break;
                    }

                    backoff.Reset();
                    // The same version again after a reconnect is skipped; the same version with other roles (a new
                    // leader) is not.
                    var seen = $"{table.Version}/{string.Join(',', table.Members.Select(m => $"{m.Id}:{(int)m.Role}"))}";
                    if (seen == lastSeen)
                    {
                        continue;
                    }

                    lastSeen = seen;
                    yield return new EndpointSnapshot(table);
                }

                var delay = backoff.Next();
                ClientLog.StreamBroken(_logger, "endpoints watch", reason, delay, null);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
