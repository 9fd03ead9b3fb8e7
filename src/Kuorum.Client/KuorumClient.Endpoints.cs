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
                string reason;
                while (true)
                {
                    (EndpointTable? table, reason) = await NextAsync(call.ResponseStream, "Endpoints.Watch", cancellationToken).ConfigureAwait(false);
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

    // The next message of a server stream; or null, with why, when the stream ended or broke in a way worth
    // reconnecting for. Other errors are thrown as the client's exceptions.
    private async Task<(T? Message, string Reason)> NextAsync<T>(IAsyncStreamReader<T> stream, string method, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            return await stream.MoveNext(cancellationToken).ConfigureAwait(false)
                ? (stream.Current, "")
                : (null, "the sidecar ended the stream");
        }
        catch (RpcException e) when (cancellationToken.IsCancellationRequested)
        {
            throw RpcErrors.Translate(e, method, _sidecar, cancellationToken);
        }
        catch (RpcException e) when (RpcErrors.IsTransient(e))
        {
            return (null, $"{e.StatusCode}: {e.Status.Detail}");
        }
        catch (RpcException e)
        {
            throw RpcErrors.Map(e, method, _sidecar);
        }
        catch (IOException e)
        {
            return (null, e.Message);
        }
    }
}
