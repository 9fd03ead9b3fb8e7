using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Kuorum.Agent.Health;

/// <summary>
/// <c>grpc.health.v1.Health/Check</c> for <see cref="ProbeSettings.Service"/> over HTTP/2 without TLS, on a channel of
/// its own kept between probes; <c>SERVING</c> succeeds, any other status or error fails.
/// </summary>
public sealed class GrpcHealthProbe : IProbe, IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly Grpc.Health.V1.Health.HealthClient _client;
    private readonly string _service;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;

    /// <summary>A probe of <see cref="ProbeSettings.Host"/>:<see cref="ProbeSettings.Port"/>.</summary>
    public GrpcHealthProbe(ProbeSettings settings, TimeProvider? time = null)
    {
        settings.Validate();
        _time = time ?? TimeProvider.System;
        _timeout = settings.Timeout;
        _service = settings.Service;
        _channel = GrpcChannel.ForAddress(new UriBuilder(Uri.UriSchemeHttp, settings.Host, settings.Port).Uri, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                UseProxy = false,
                ConnectTimeout = settings.Timeout,
                PooledConnectionIdleTimeout = settings.Period * 3,
            },
            DisposeHttpClient = true,
            MaxRetryAttempts = 0,
        });
        _client = new Grpc.Health.V1.Health.HealthClient(_channel);
    }

    /// <inheritdoc />
    public Task<ProbeResult> ProbeAsync(CancellationToken cancellationToken) =>
        ProbeExecution.RunAsync(_time, _timeout, async token =>
        {
            try
            {
                var reply = await _client.CheckAsync(new HealthCheckRequest { Service = _service }, cancellationToken: token).ConfigureAwait(false);
                return (reply.Status == HealthCheckResponse.Types.ServingStatus.Serving, "gRPC health " + reply.Status);
            }
            catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled)
            {
                return (false, $"gRPC {e.StatusCode}: {e.Status.Detail}");
            }
        }, cancellationToken);

    /// <inheritdoc />
    public void Dispose() => _channel.Dispose();
}
