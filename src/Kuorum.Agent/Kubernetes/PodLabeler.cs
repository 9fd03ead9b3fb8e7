using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace Kuorum.Agent.Kubernetes;

/// <summary>
/// Labels the agent's own pod with its Raft role (<c>kuorum.io/role</c> = leader, follower or learner) and annotates
/// it with the term (<c>kuorum.io/term</c>), so the cluster's leader Service (selecting <c>kuorum.io/role=leader</c>)
/// routes to the leader. It talks to the API server with in-cluster configuration and a plain <see cref="HttpClient"/>
/// (no KubernetesClient: the agent is published with Native AOT), sending one JSON merge patch to
/// <c>/api/v1/namespaces/{namespace}/pods/{name}</c>.
/// <para>
/// <see cref="SetRoleAsync"/> never waits for the API server: it records the desired state and returns. One
/// background loop writes it, coalescing: only the latest desired state is written, a state already written is not
/// written again, and a failed write is retried (with the latest state by then) after an exponential back-off with
/// jitter. The term annotation tells a reader which of two pods labelled leader for a moment (the old leader's patch
/// may land after the new leader's) is the current one.
/// </para>
/// </summary>
public sealed partial class PodLabeler : IAsyncDisposable
{
    /// <summary>The label holding the role.</summary>
    public const string RoleLabel = "kuorum.io/role";

    /// <summary>The annotation holding the term the role was taken in.</summary>
    public const string TermAnnotation = "kuorum.io/term";

    /// <summary>The service-account token Kubernetes mounts into every pod (unless automounting is off).</summary>
    public const string DefaultTokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token";

    /// <summary>The API server's CA bundle mounted beside the token.</summary>
    public const string DefaultCaFile = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";

    /// <summary>
    /// EMULATION HOOK (tests only): a base URL such as <c>http://10.0.0.1:8080</c> that replaces
    /// <c>https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT</c>, for the operator tests' API server emulation,
    /// which serves plain HTTP. With an <c>http</c> URL no CA is used.
    /// </summary>
    public const string ApiUrlVariable = "KUORUM_KUBE_API_URL";

    /// <summary>Overrides <see cref="DefaultTokenFile"/> (an emulated kubelet points it at a file of its own).</summary>
    public const string TokenFileVariable = "KUORUM_KUBE_TOKEN_FILE";

    /// <summary>Overrides <see cref="DefaultCaFile"/>.</summary>
    public const string CaFileVariable = "KUORUM_KUBE_CA_FILE";

    private static readonly string[] Roles = ["leader", "follower", "learner"];

    private readonly HttpClient _http;
    private readonly Uri _podUri;
    private readonly string _podName;
    private readonly string _podNamespace;
    private readonly Func<string?> _token;
    private readonly ILogger _logger;
    private readonly PodLabelerTiming _timing;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly Task _loop;
    private PodRole? _desired;
    private PodRole? _written;
    private TaskCompletionSource _writtenSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _writes;
    private long _failures;

    internal PodLabeler(Uri apiBase, string podName, string podNamespace, Func<string?> token, HttpMessageHandler handler, ILogger logger, PodLabelerTiming? timing = null)
    {
        _podName = podName;
        _podNamespace = podNamespace;
        _podUri = new Uri(apiBase, $"/api/v1/namespaces/{Uri.EscapeDataString(podNamespace)}/pods/{Uri.EscapeDataString(podName)}");
        _token = token;
        _logger = logger;
        _timing = timing ?? new PodLabelerTiming();
        _http = new HttpClient(handler, disposeHandler: true) { Timeout = _timing.RequestTimeout };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("kuorum-agent", typeof(PodLabeler).Assembly.GetName().Version?.ToString() ?? "0"));
        _loop = Task.Run(RunAsync);
    }

    /// <summary>The pod's URL on the API server.</summary>
    public Uri PodUri => _podUri;

    /// <summary>The role and term last written to the pod, or null before the first successful write.</summary>
    public (string Role, long Term)? Written
    {
        get
        {
            lock (_gate)
            {
                return _written is { } w ? (w.Role, w.Term) : null;
            }
        }
    }

    /// <summary>Successful patches so far.</summary>
    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>Failed patches so far (each retried later).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>
    /// The labeler for this pod from in-cluster configuration, or null when the agent does not run in a cluster
    /// (no <c>KUBERNETES_SERVICE_HOST</c>, no pod name, no service-account token).
    /// </summary>
    /// <param name="podName">The pod's name (<c>KUORUM_POD_NAME</c>, from the downward API).</param>
    /// <param name="podNamespace">The pod's namespace (<c>KUORUM_POD_NAMESPACE</c>); when empty, the service account's namespace file.</param>
    /// <param name="logger">Where writes and failures are logged.</param>
    public static PodLabeler? FromEnvironment(string podName, string podNamespace, ILogger logger) =>
        FromEnvironment(podName, podNamespace, logger, Environment.GetEnvironmentVariable);

    internal static PodLabeler? FromEnvironment(string podName, string podNamespace, ILogger logger, Func<string, string?> environment, PodLabelerTiming? timing = null)
    {
        var emulatedApi = environment(ApiUrlVariable);
        var host = environment("KUBERNETES_SERVICE_HOST");
        if (string.IsNullOrEmpty(emulatedApi) && string.IsNullOrEmpty(host))
        {
            return null;
        }

        if (string.IsNullOrEmpty(podName))
        {
            Log.NoPodName(logger);
            return null;
        }

        var tokenFile = environment(TokenFileVariable) is { Length: > 0 } t ? t : DefaultTokenFile;
        var caFile = environment(CaFileVariable) is { Length: > 0 } c ? c : DefaultCaFile;
        if (!File.Exists(tokenFile))
        {
            Log.NoToken(logger, tokenFile);
            return null;
        }

        if (string.IsNullOrEmpty(podNamespace))
        {
            var namespaceFile = Path.Combine(Path.GetDirectoryName(tokenFile) ?? "", "namespace");
            podNamespace = File.Exists(namespaceFile) ? File.ReadAllText(namespaceFile).Trim() : "";
            if (podNamespace.Length == 0)
            {
                Log.NoNamespace(logger, namespaceFile);
                return null;
            }
        }

        Uri apiBase;
        SocketsHttpHandler handler = new() { PooledConnectionLifetime = TimeSpan.FromMinutes(5), ConnectTimeout = TimeSpan.FromSeconds(5) };
        if (!string.IsNullOrEmpty(emulatedApi))
        {
            if (!Uri.TryCreate(emulatedApi, UriKind.Absolute, out apiBase!) || apiBase.Scheme is not ("http" or "https"))
            {
                Log.BadSetting(logger, ApiUrlVariable, emulatedApi);
                handler.Dispose();
                return null;
            }
        }
        else
        {
            var port = environment("KUBERNETES_SERVICE_PORT") is { Length: > 0 } p ? p : "443";
            var hostPart = host!.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]" : host;
            if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out _) || !Uri.TryCreate($"https://{hostPart}:{port}", UriKind.Absolute, out apiBase!))
            {
                Log.BadSetting(logger, "KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT", $"{host}:{port}");
                handler.Dispose();
                return null;
            }
        }

        if (apiBase.Scheme == "https")
        {
            if (!File.Exists(caFile))
            {
                Log.NoCa(logger, caFile);
                handler.Dispose();
                return null;
            }

            var roots = new X509Certificate2Collection();
            try
            {
                roots.ImportFromPemFile(caFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                Log.BadCa(logger, caFile, e.Message);
                handler.Dispose();
                return null;
            }

            handler.SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) => TrustedBy(roots, certificate, errors),
            };
        }

        var labeler = new PodLabeler(apiBase, podName, podNamespace, () => ReadToken(tokenFile), handler, logger, timing);
        Log.Configured(logger, labeler.PodUri.ToString(), tokenFile);
        return labeler;
    }

    /// <summary>The role label value for a node: leader, learner (a non-voting member) or follower.</summary>
    public static string RoleOf(bool isLeader, bool isLearner) => isLeader ? "leader" : isLearner ? "learner" : "follower";

    /// <summary>
    /// Records that the pod should carry <paramref name="role"/> and <paramref name="term"/> and returns at once; the
    /// background loop writes it (only the latest state is written; failures are retried with back-off).
    /// </summary>
    /// <param name="role">leader, follower or learner.</param>
    /// <param name="term">The Raft term the role holds in.</param>
    /// <param name="cancellationToken">Not used to wait; present for callers' symmetry.</param>
    /// <exception cref="ArgumentException">The role is not one of the three.</exception>
    public Task SetRoleAsync(string role, long term, CancellationToken cancellationToken = default)
    {
        if (!Roles.Contains(role, StringComparer.Ordinal))
        {
            throw new ArgumentException($"role '{role}' is not one of {string.Join(", ", Roles)}", nameof(role));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(term);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            _desired = new PodRole(role, term);
        }

        _wake.Writer.TryWrite(true);
        return Task.CompletedTask;
    }

    /// <summary>Waits until the latest desired state is on the pod (for a stopping agent, bounded by the caller, and for tests).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task signal;
            lock (_gate)
            {
                if (_desired is null || _desired == _written)
                {
                    return;
                }

                signal = _writtenSignal.Task;
            }

            await signal.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _wake.Writer.TryComplete();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _http.Dispose();
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        var backoff = _timing.InitialBackoff;
        var attempt = 0;
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            PodRole? want;
            lock (_gate)
            {
                want = _desired == _written ? null : _desired;
            }

            if (want is null)
            {
                if (!await _wake.Reader.WaitToReadAsync(ct).ConfigureAwait(false))
                {
                    return;
                }

                _wake.Reader.TryRead(out _);
                continue;
            }

            attempt++;
            string? error;
            try
            {
                error = await PatchAsync(want, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException or UnauthorizedAccessException)
            {
                error = e is OperationCanceledException ? $"no answer within {_timing.RequestTimeout.TotalSeconds:0.#} s" : e.Message;
            }

            if (error is null)
            {
                Interlocked.Increment(ref _writes);
                Log.Labelled(_logger, _podNamespace, _podName, want.Role, want.Term);
                lock (_gate)
                {
                    _written = want;
                    _writtenSignal.TrySetResult();
                    _writtenSignal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                backoff = _timing.InitialBackoff;
                attempt = 0;
                continue;
            }

            Interlocked.Increment(ref _failures);
            var delay = Jitter(backoff);
            Log.Failed(_logger, _podNamespace, _podName, want.Role, want.Term, attempt, error, (long)delay.TotalMilliseconds);
            try
            {
                await Task.Delay(delay, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _timing.MaxBackoff.Ticks));
        }
    }

    /// <summary>Sends the merge patch; returns null on success or what went wrong.</summary>
    private async Task<string?> PatchAsync(PodRole want, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Patch, _podUri) { Content = new ByteArrayContent(PatchBody(want.Role, want.Term)) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/merge-patch+json");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (_token() is { Length: > 0 } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            return null;
        }

        var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        var hint = (int)response.StatusCode switch
        {
            401 => " (the service-account token was refused)",
            403 => " (RBAC: the agent's Role must allow get and patch on its pod)",
            404 => " (the pod does not exist)",
            _ => "",
        };
        return $"{(int)response.StatusCode} {response.ReasonPhrase}{hint}: {Truncate(body, 300)}";
    }

    /// <summary>The JSON merge patch: <c>{"metadata":{"labels":{"kuorum.io/role":R},"annotations":{"kuorum.io/term":"T"}}}</c>.</summary>
    internal static byte[] PatchBody(string role, long term)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("metadata");
            json.WriteStartObject("labels");
            json.WriteString(RoleLabel, role);
            json.WriteEndObject();
            json.WriteStartObject("annotations");
            json.WriteString(TermAnnotation, term.ToString(CultureInfo.InvariantCulture));
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static bool TrustedBy(X509Certificate2Collection roots, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        // The name must match; only the chain may end in the cluster's own CA rather than a system root.
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }

    // Projected service-account tokens rotate (the kubelet rewrites the file), so the file is read for every request.
    private static string? ReadToken(string file)
    {
        try
        {
            return File.ReadAllText(file, Encoding.UTF8).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private TimeSpan Jitter(TimeSpan delay) =>
        TimeSpan.FromTicks((long)(delay.Ticks * (1 - _timing.Jitter + (2 * _timing.Jitter * Random.Shared.NextDouble()))));

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max] + "…";

    private sealed record PodRole(string Role, long Term);

    private static partial class Log
    {
        [LoggerMessage(EventId = 9000, Level = LogLevel.Information, Message = "pod labelling: patching {Pod} with the service-account token from {TokenFile}")]
        public static partial void Configured(ILogger logger, string pod, string tokenFile);

        [LoggerMessage(EventId = 9001, Level = LogLevel.Information, Message = "pod {Namespace}/{Pod} labelled kuorum.io/role={Role}, kuorum.io/term={Term}")]
        public static partial void Labelled(ILogger logger, string @namespace, string pod, string role, long term);

        [LoggerMessage(EventId = 9002, Level = LogLevel.Warning, Message = "pod {Namespace}/{Pod}: labelling role={Role} term={Term} failed (attempt {Attempt}): {Error}; retrying in {DelayMs} ms")]
        public static partial void Failed(ILogger logger, string @namespace, string pod, string role, long term, int attempt, string error, long delayMs);

        [LoggerMessage(EventId = 9003, Level = LogLevel.Warning, Message = "pod labelling off: in a cluster but no pod name (set KUORUM_POD_NAME from metadata.name)")]
        public static partial void NoPodName(ILogger logger);

        [LoggerMessage(EventId = 9004, Level = LogLevel.Warning, Message = "pod labelling off: no service-account token at {TokenFile} (is automountServiceAccountToken false?)")]
        public static partial void NoToken(ILogger logger, string tokenFile);

        [LoggerMessage(EventId = 9005, Level = LogLevel.Warning, Message = "pod labelling off: no pod namespace (set KUORUM_POD_NAMESPACE from metadata.namespace; {NamespaceFile} is missing too)")]
        public static partial void NoNamespace(ILogger logger, string namespaceFile);

        [LoggerMessage(EventId = 9006, Level = LogLevel.Warning, Message = "pod labelling off: {Setting} is '{Value}', which is not a usable API server address")]
        public static partial void BadSetting(ILogger logger, string setting, string value);

        [LoggerMessage(EventId = 9007, Level = LogLevel.Warning, Message = "pod labelling off: no API server CA bundle at {CaFile}")]
        public static partial void NoCa(ILogger logger, string caFile);

        [LoggerMessage(EventId = 9008, Level = LogLevel.Warning, Message = "pod labelling off: the CA bundle {CaFile} cannot be read: {Error}")]
        public static partial void BadCa(ILogger logger, string caFile, string error);
    }
}

/// <summary>Back-off and timeouts of <see cref="PodLabeler"/> (tests shorten them).</summary>
internal sealed record PodLabelerTiming
{
    /// <summary>The first retry delay after a failed write; doubles per failure.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest retry delay.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Each delay is scaled by a random factor in [1 - Jitter, 1 + Jitter].</summary>
    public double Jitter { get; init; } = 0.2;

    /// <summary>How long one patch may take.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
