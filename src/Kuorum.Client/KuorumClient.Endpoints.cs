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

    private async IAsyncEnumerable<EndpointSnapshot> WatchEndpointsCoreAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var backoff = NewBackoff();
        long? lastVersion = null;
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
                    if (table.Version == lastVersion)
                    {
                        continue;
                    }

                    lastVersion = table.Version;
                    yield return new EndpointSnapshot(table);
                }

                var delay = backoff.Next();
                ClientLog.StreamBroken(_logger, "endpoints watch", reason, delay, null);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
