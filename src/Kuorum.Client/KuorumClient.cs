using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Net.Client;
using Kuorum.Api.V1;
using Kuorum.Client.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using HealthCheckRequest = Grpc.Health.V1.HealthCheckRequest;
using HealthClient = Grpc.Health.V1.Health.HealthClient;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Kuorum.Client;

/// <summary>
/// The application's connection to its Kuorum sidecar: readiness, leadership, locks, key-value access, watches
/// and endpoints. Create one per process and share it; it is thread-safe. Disposing it releases the locks and
/// revokes the leases it still holds and stops its watchers.
/// </summary>
public sealed partial class KuorumClient : IAsyncDisposable
{
    private readonly GrpcChannel _channel;
    private readonly SidecarEndpoint _sidecar;
    private readonly KuorumClientOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly KeyValue.KeyValueClient _kv;
    private readonly Api.V1.Leadership.LeadershipClient _leadership;
    private readonly Lease.LeaseClient _leases;
    private readonly Api.V1.Lock.LockClient _locks;
    private readonly Api.V1.Endpoints.EndpointsClient _endpoints;
    private readonly HealthClient _health;
    private readonly ConcurrentDictionary<IAsyncDisposable, byte> _owned = new();
    private int _disposed;

    /// <summary>Connects to the sidecar at the default socket or address (see <see cref="KuorumClientOptions"/>).</summary>
    public KuorumClient()
        : this(new KuorumClientOptions())
    {
    }

    /// <summary>Connects to the sidecar the options name. No call is made until the first operation.</summary>
    /// <param name="options">Where the sidecar is and how to retry; copied, so later changes have no effect.</param>
    /// <exception cref="ArgumentException">A setting is invalid; the message names it.</exception>
    public KuorumClient(KuorumClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Clone();
        _sidecar = _options.Validate();
        _time = _options.TimeProvider;
        _logger = _options.LoggerFactory?.CreateLogger("Kuorum.Client") ?? NullLogger.Instance;
        _channel = GrpcChannel.ForAddress(_sidecar.Address, new GrpcChannelOptions
        {
            HttpHandler = _sidecar.CreateHandler(_options.AttemptTimeout),
            DisposeHttpClient = true,
            LoggerFactory = _options.LoggerFactory,
            // Not ThrowOperationCanceledOnCancellation: it also turns a CANCELLED sent by the sidecar (a reset stream)
            // into OperationCanceledException. We convert to that only when our own token fired (RpcErrors.Translate).
        });
        CallInvoker = _channel.CreateCallInvoker();
        _kv = new KeyValue.KeyValueClient(CallInvoker);
        _leadership = new Api.V1.Leadership.LeadershipClient(CallInvoker);
        _leases = new Lease.LeaseClient(CallInvoker);
        _locks = new Api.V1.Lock.LockClient(CallInvoker);
        _endpoints = new Api.V1.Endpoints.EndpointsClient(CallInvoker);
        _health = new HealthClient(CallInvoker);
    }

    /// <summary>The sidecar this client talks to, as <c>unix:/path</c> or <c>http://host:port/</c>.</summary>
    public string Target => _sidecar.Description;

    /// <summary>
    /// The underlying gRPC call invoker, for calls this SDK does not wrap: pass it to any generated client of
    /// <c>Kuorum.Api.V1</c> (for instance <c>new Admin.AdminClient(client.CallInvoker)</c>).
    /// </summary>
    public CallInvoker CallInvoker { get; }

    /// <summary>A client configured from <c>KUORUM_AGENT_SOCKET</c> or <c>KUORUM_AGENT_ADDRESS</c>.</summary>
    /// <exception cref="ArgumentException">The environment is invalid; the message names the variable.</exception>
    public static KuorumClient FromEnvironment() => new(KuorumClientOptions.FromEnvironment());

    /// <summary>
    /// Waits until the sidecar answers its health check as SERVING and knows a leader, retrying with a short
    /// back-off while it is unreachable, starting, or between leaders. Call it once at start-up.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The leadership the sidecar reported when it became ready.</returns>
    /// <exception cref="KuorumException">The endpoint answered but is not a Kuorum agent (for instance UNIMPLEMENTED).</exception>
    public Task<LeadershipState> WaitForSidecarAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return WaitForSidecarCoreAsync(new ReadinessProgress(), cancellationToken);
    }

    /// <summary>
    /// Like <see cref="WaitForSidecarAsync(CancellationToken)"/>, but gives up after <paramref name="timeout"/>
    /// with a <see cref="TimeoutException"/> that says what the sidecar last lacked.
    /// </summary>
    /// <param name="timeout">How long to wait.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The leadership the sidecar reported when it became ready.</returns>
    /// <exception cref="TimeoutException">The sidecar was not ready in time.</exception>
    public async Task<LeadershipState> WaitForSidecarAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        using var timeoutSource = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        var progress = new ReadinessProgress();
        try
        {
            return await WaitForSidecarCoreAsync(progress, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeoutSource.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"the Kuorum sidecar at {Target} was not ready after {timeout}: {progress.LastReason}.");
        }
    }

    /// <summary>
    /// Stops the client's watchers, releases its locks and revokes its leases (best effort, each bounded by
    /// <see cref="KuorumClientOptions.AttemptTimeout"/>), then closes the connection.
    /// </summary>
    /// <returns>A task that completes when everything is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (var owned in _owned.Keys)
        {
            // Every owned object's DisposeAsync is best effort and does not throw.
            await owned.DisposeAsync().ConfigureAwait(false);
        }

        _channel.Dispose();
    }

    internal KuorumClientOptions Options => _options;

    internal TimeProvider Time => _time;

    internal ILogger Logger => _logger;

    internal SidecarEndpoint Sidecar => _sidecar;

    internal Backoff NewBackoff() => new(_options.RetryInitialDelay, _options.RetryMaxDelay);

    internal void Track(IAsyncDisposable owned) => _owned.TryAdd(owned, 0);

    internal void Untrack(IAsyncDisposable owned) => _owned.TryRemove(owned, out _);

    /// <summary>An idempotent read: retried with back-off while the sidecar answers UNAVAILABLE.</summary>
    internal async Task<T> IdempotentCallAsync<T>(string operation, Func<CancellationToken, AsyncUnaryCall<T>> start, CancellationToken cancellationToken)
    {
        Backoff? backoff = null;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var call = start(cancellationToken);
                return await call.ResponseAsync.ConfigureAwait(false);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && attempt < _options.MaxReadAttempts
                                         && !cancellationToken.IsCancellationRequested)
            {
                backoff ??= NewBackoff();
                await Task.Delay(backoff.Next(), _time, cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException e)
            {
                throw RpcErrors.Translate(e, operation, _sidecar, cancellationToken);
            }
        }
    }

    /// <summary>A call that changes state: tried once, since a failed attempt may still have been applied.</summary>
    internal async Task<T> CallOnceAsync<T>(string operation, Func<CancellationToken, AsyncUnaryCall<T>> start, CancellationToken cancellationToken)
    {
        try
        {
            using var call = start(cancellationToken);
            return await call.ResponseAsync.ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            throw RpcErrors.Translate(e, operation, _sidecar, cancellationToken);
        }
    }

    private async Task<LeadershipState> WaitForSidecarCoreAsync(ReadinessProgress progress, CancellationToken cancellationToken)
    {
        var backoff = NewBackoff();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using (var attempt = new CancellationTokenSource(_options.AttemptTimeout, _time))
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, attempt.Token))
            {
                try
                {
                    var health = await _health.CheckAsync(new HealthCheckRequest(), cancellationToken: linked.Token)
                        .ResponseAsync.ConfigureAwait(false);
                    if (health.Status != ServingStatus.Serving)
                    {
                        progress.LastReason = $"its health check answers {health.Status}";
                    }
                    else
                    {
                        var leader = await _leadership.GetLeaderAsync(new GetLeaderRequest(), cancellationToken: linked.Token)
                            .ResponseAsync.ConfigureAwait(false);
                        if (leader.LeaderId != 0)
                        {
                            return LeadershipState.From(leader);
                        }

                        progress.LastReason = "it is serving but knows no leader yet";
                    }
                }
                catch (RpcException) when (!cancellationToken.IsCancellationRequested && attempt.IsCancellationRequested)
                {
                    progress.LastReason = $"no answer within {_options.AttemptTimeout}";
                }
                catch (RpcException e) when (!cancellationToken.IsCancellationRequested && IsWorthWaitingFor(e))
                {
                    progress.LastReason = $"{e.StatusCode}: {e.Status.Detail}";
                }
                catch (RpcException e)
                {
                    throw RpcErrors.Translate(e, "readiness check", _sidecar, cancellationToken);
                }
            }

            ClientLog.SidecarNotReady(_logger, progress.LastReason);
            await Task.Delay(backoff.Next(), _time, cancellationToken).ConfigureAwait(false);
        }
    }

    // NOT_FOUND: the health service has not registered its status yet, as during start-up.
    private static bool IsWorthWaitingFor(RpcException e) => RpcErrors.IsTransient(e) || e.StatusCode is StatusCode.NotFound
        or StatusCode.ResourceExhausted or StatusCode.FailedPrecondition;

    private sealed class ReadinessProgress
    {
        public string LastReason { get; set; } = "no answer yet";
    }
}
