namespace Kuorum.Agent.Health;

/// <summary>
/// <c>GET http://host:port/path</c> on a client of its own (no proxy, no redirects followed, connections kept alive
/// between probes); a status of 200 to 399 succeeds, as in Kubernetes.
/// </summary>
public sealed class HttpProbe : IProbe, IDisposable
{
    private readonly HttpClient _client;
    private readonly Uri _uri;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;

    /// <summary>A probe of <see cref="ProbeSettings.Host"/>:<see cref="ProbeSettings.Port"/><see cref="ProbeSettings.Path"/>.</summary>
    public HttpProbe(ProbeSettings settings, TimeProvider? time = null)
    {
        settings.Validate();
        _time = time ?? TimeProvider.System;
        _timeout = settings.Timeout;
        _uri = new Uri(new UriBuilder(Uri.UriSchemeHttp, settings.Host, settings.Port).Uri, settings.Path);
        _client = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            ConnectTimeout = settings.Timeout,
            PooledConnectionIdleTimeout = settings.Period * 3,
        })
        {
            // A backstop: the probe's own deadline (on the injected clock) normally fires first.
            Timeout = settings.Timeout + TimeSpan.FromSeconds(1),
        };
        _client.DefaultRequestHeaders.UserAgent.ParseAdd("kuorum-probe/1");
    }

    /// <summary>The URL probed.</summary>
    public Uri Uri => _uri;

    /// <inheritdoc />
    public Task<ProbeResult> ProbeAsync(CancellationToken cancellationToken) =>
        ProbeExecution.RunAsync(_time, _timeout, async token =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, _uri);
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            return (status is >= 200 and <= 399, $"HTTP {status}");
        }, cancellationToken);

    /// <inheritdoc />
    public void Dispose() => _client.Dispose();
}
