using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Kuorum.Agent.Kubernetes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Kuorum.Agent.Tests;

/// <summary>
/// The agent's pod labelling against a small fake of the API server's pod PATCH endpoint (Kestrel on 127.0.0.1,
/// over plain HTTP through the <c>KUORUM_KUBE_API_URL</c> emulation hook, or over HTTPS with a test CA through the
/// real in-cluster variables).
/// </summary>
public sealed class PodLabelerTests : IDisposable
{
    private static readonly PodLabelerTiming Fast = new() { InitialBackoff = TimeSpan.FromMilliseconds(20), MaxBackoff = TimeSpan.FromMilliseconds(200), RequestTimeout = TimeSpan.FromSeconds(5) };
    private readonly string _dir = Directory.CreateTempSubdirectory("kuorum-podlabeler-").FullName;
    private readonly CollectingLogger _log = new();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void OutsideACluster_ThereIsNoLabeler()
    {
        Assert.Null(PodLabeler.FromEnvironment("orders-0", "shop", _log, Env([])));
        var token = WriteToken("t");
        // In a cluster but without a pod name, or without a token: off, and it says why.
        Assert.Null(PodLabeler.FromEnvironment("", "shop", _log, Env(new() { ["KUBERNETES_SERVICE_HOST"] = "10.96.0.1", [PodLabeler.TokenFileVariable] = token })));
        Assert.Null(PodLabeler.FromEnvironment("orders-0", "shop", _log, Env(new() { ["KUBERNETES_SERVICE_HOST"] = "10.96.0.1", [PodLabeler.TokenFileVariable] = Path.Combine(_dir, "none") })));
        Assert.Contains(_log.Lines, l => l.Contains("no service-account token", StringComparison.Ordinal));
        Assert.Null(PodLabeler.FromEnvironment("orders-0", "shop", _log, Env(new() { ["KUBERNETES_SERVICE_HOST"] = "10.96.0.1", [PodLabeler.TokenFileVariable] = token, [PodLabeler.CaFileVariable] = Path.Combine(_dir, "none") })));
        Assert.Contains(_log.Lines, l => l.Contains("no API server CA bundle", StringComparison.Ordinal));
    }

    [Fact]
    public void ThePatch_IsAJsonMergePatchOfTheRoleLabelAndTheTermAnnotation()
    {
        var body = JsonNode.Parse(PodLabeler.PatchBody("leader", 7))!;
        Assert.Equal("""{"metadata":{"labels":{"kuorum.io/role":"leader"},"annotations":{"kuorum.io/term":"7"}}}""", body.ToJsonString());
        Assert.Equal("leader", PodLabeler.RoleOf(isLeader: true, isLearner: false));
        Assert.Equal("learner", PodLabeler.RoleOf(isLeader: false, isLearner: true));
        Assert.Equal("follower", PodLabeler.RoleOf(isLeader: false, isLearner: false));
    }

    [Fact]
    public async Task SetRole_PatchesTheOwnPod_WithTheTokenAndMergePatchContentType()
    {
        await using var api = await FakeApiServer.StartAsync(https: false);
        var token = WriteToken("secret-1");
        await using var labeler = PodLabeler.FromEnvironment("orders-1", "shop", _log, Env(new() { [PodLabeler.ApiUrlVariable] = api.Url, [PodLabeler.TokenFileVariable] = token }), Fast)!;

        await labeler.SetRoleAsync("leader", 3);
        await labeler.FlushAsync(Timeout());

        var request = Assert.Single(api.Requests);
        Assert.Equal("PATCH", request.Method);
        Assert.Equal("/api/v1/namespaces/shop/pods/orders-1", request.Path);
        Assert.Equal("application/merge-patch+json", request.ContentType);
        Assert.Equal("Bearer secret-1", request.Authorization);
        Assert.StartsWith("kuorum-agent/", request.UserAgent, StringComparison.Ordinal);
        Assert.Equal("leader", api.Labels["kuorum.io/role"]);
        Assert.Equal("3", api.Annotations["kuorum.io/term"]);
        Assert.Equal(("leader", 3L), labeler.Written);
        Assert.Contains(_log.Lines, l => l.Contains("shop/orders-1 labelled kuorum.io/role=leader, kuorum.io/term=3", StringComparison.Ordinal));

        // The same state again writes nothing; the token file is read again for each write (tokens rotate).
        await labeler.SetRoleAsync("leader", 3);
        File.WriteAllText(token, "secret-2\n");
        await labeler.SetRoleAsync("follower", 4);
        await labeler.FlushAsync(Timeout());
        Assert.Equal(2, api.Requests.Count);
        Assert.Equal("Bearer secret-2", api.Requests[1].Authorization);
        Assert.Equal("follower", api.Labels["kuorum.io/role"]);
        Assert.Equal("4", api.Annotations["kuorum.io/term"]);
    }

    [Fact]
    public async Task SetRole_NeverWaitsForTheApiServer_AndOnlyTheLatestStateIsWritten()
    {
        await using var api = await FakeApiServer.StartAsync(https: false);
        api.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var labeler = PodLabeler.FromEnvironment("orders-0", "shop", _log, Env(new() { [PodLabeler.ApiUrlVariable] = api.Url, [PodLabeler.TokenFileVariable] = WriteToken("t") }), Fast)!;

        await labeler.SetRoleAsync("follower", 1);
        await WaitUntil(() => api.Arrived >= 1, "the first patch to reach the API server");

        // The API server does not answer; the caller is never held up, and the states pile up as one.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await labeler.SetRoleAsync("leader", 2);
        await labeler.SetRoleAsync("follower", 3);
        await labeler.SetRoleAsync("leader", 4);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"SetRoleAsync took {clock.Elapsed}");

        api.Hold.SetResult();
        await labeler.FlushAsync(Timeout());
        Assert.Equal(["follower/1", "leader/4"], api.Requests.Select(r => r.Body).Select(Describe));
        Assert.Equal("leader", api.Labels["kuorum.io/role"]);
        Assert.Equal("4", api.Annotations["kuorum.io/term"]);
    }

    [Fact]
    public async Task FailedWrites_AreRetriedWithBackOff_AndLogged()
    {
        await using var api = await FakeApiServer.StartAsync(https: false);
        api.Failures.Enqueue(500);
        api.Failures.Enqueue(403);
        api.Failures.Enqueue(503);
        await using var labeler = PodLabeler.FromEnvironment("orders-2", "shop", _log, Env(new() { [PodLabeler.ApiUrlVariable] = api.Url, [PodLabeler.TokenFileVariable] = WriteToken("t") }), Fast)!;

        await labeler.SetRoleAsync("learner", 5);
        await labeler.FlushAsync(Timeout());

        Assert.Equal(4, api.Requests.Count);
        Assert.Equal(3, labeler.Failures);
        Assert.Equal("learner", api.Labels["kuorum.io/role"]);
        // Back-off: 20 ms, 40 ms, 80 ms (±20%) between the four attempts.
        var gaps = api.Requests.Zip(api.Requests.Skip(1), (a, b) => b.At - a.At).ToList();
        Assert.True(gaps[0] >= TimeSpan.FromMilliseconds(14) && gaps[2] >= TimeSpan.FromMilliseconds(60), string.Join(", ", gaps));
        Assert.Contains(_log.Lines, l => l.Contains("failed (attempt 1): 500", StringComparison.Ordinal));
        Assert.Contains(_log.Lines, l => l.Contains("failed (attempt 2): 403", StringComparison.Ordinal) && l.Contains("RBAC", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnUnreachableApiServer_IsRetriedUntilItAnswers()
    {
        var port = FreePort();
        await using var labeler = PodLabeler.FromEnvironment("orders-0", "shop", _log, Env(new() { [PodLabeler.ApiUrlVariable] = $"http://127.0.0.1:{port}", [PodLabeler.TokenFileVariable] = WriteToken("t") }), Fast)!;
        await labeler.SetRoleAsync("leader", 9);
        await WaitUntil(() => labeler.Failures >= 2, "two failed attempts");
        Assert.Null(labeler.Written);

        await using var api = await FakeApiServer.StartAsync(https: false, port);
        await labeler.FlushAsync(Timeout());
        Assert.Equal("leader", api.Labels["kuorum.io/role"]);
        Assert.Equal("9", api.Annotations["kuorum.io/term"]);
    }

    [Fact]
    public async Task InCluster_OverHttps_TrustsTheServiceAccountCa_AndNothingElse()
    {
        using var ca = TestCa.Create();
        await using var api = await FakeApiServer.StartAsync(https: true, certificate: ca.ServerCertificate);
        var caFile = Path.Combine(_dir, "ca.crt");
        File.WriteAllText(caFile, ca.CaPem);
        var token = WriteToken("in-cluster");
        var env = new Dictionary<string, string>
        {
            ["KUBERNETES_SERVICE_HOST"] = "127.0.0.1",
            ["KUBERNETES_SERVICE_PORT"] = api.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [PodLabeler.TokenFileVariable] = token,
            [PodLabeler.CaFileVariable] = caFile,
        };

        await using (var labeler = PodLabeler.FromEnvironment("orders-0", "shop", _log, Env(env), Fast)!)
        {
            Assert.Equal($"https://127.0.0.1:{api.Port}/api/v1/namespaces/shop/pods/orders-0", labeler.PodUri.ToString());
            await labeler.SetRoleAsync("leader", 1);
            await labeler.FlushAsync(Timeout());
            Assert.Equal("Bearer in-cluster", Assert.Single(api.Requests).Authorization);
        }

        // Another CA: the TLS handshake fails, nothing reaches the server, and the labeler keeps retrying.
        using var other = TestCa.Create();
        File.WriteAllText(caFile, other.CaPem);
        await using (var labeler = PodLabeler.FromEnvironment("orders-0", "shop", _log, Env(env), Fast)!)
        {
            await labeler.SetRoleAsync("follower", 2);
            await WaitUntil(() => labeler.Failures >= 2, "two refused handshakes");
            Assert.Null(labeler.Written);
            Assert.Single(api.Requests);
        }
    }

    [Fact]
    public async Task TheNamespace_FallsBackToTheServiceAccountNamespaceFile()
    {
        await using var api = await FakeApiServer.StartAsync(https: false);
        var token = WriteToken("t");
        File.WriteAllText(Path.Combine(_dir, "namespace"), "billing\n");
        await using var labeler = PodLabeler.FromEnvironment("orders-0", "", _log, Env(new() { [PodLabeler.ApiUrlVariable] = api.Url, [PodLabeler.TokenFileVariable] = token }), Fast)!;
        Assert.Equal("/api/v1/namespaces/billing/pods/orders-0", labeler.PodUri.AbsolutePath);
        await Assert.ThrowsAsync<ArgumentException>(() => labeler.SetRoleAsync("candidate", 1));
    }

    private string WriteToken(string value)
    {
        var file = Path.Combine(_dir, "token");
        File.WriteAllText(file, value);
        return file;
    }

    private static Func<string, string?> Env(Dictionary<string, string> values) => name => values.GetValueOrDefault(name);

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(15)).Token;

    private static string Describe(string body)
    {
        var json = JsonNode.Parse(body)!;
        return $"{json["metadata"]!["labels"]!["kuorum.io/role"]}/{json["metadata"]!["annotations"]!["kuorum.io/term"]}";
    }

    private static async Task WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }

            await Task.Delay(10);
        }
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed record SeenRequest(string Method, string Path, string? ContentType, string Authorization, string UserAgent, string Body, DateTime At);

    /// <summary>A fake of one API server endpoint, PATCH of a pod: applies the merge patch's labels and annotations to one pod it keeps.</summary>
    private sealed class FakeApiServer : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly List<SeenRequest> _requests = [];
        private int _arrived;

        private FakeApiServer(WebApplication app) => _app = app;

        public string Url { get; private set; } = "";

        public int Port { get; private set; }

        public ConcurrentQueue<int> Failures { get; } = new();

        public TaskCompletionSource? Hold { get; set; }

        public int Arrived => Volatile.Read(ref _arrived);

        public ConcurrentDictionary<string, string> Labels { get; } = new();

        public ConcurrentDictionary<string, string> Annotations { get; } = new();

        public IReadOnlyList<SeenRequest> Requests
        {
            get
            {
                lock (_requests)
                {
                    return [.. _requests];
                }
            }
        }

        public static async Task<FakeApiServer> StartAsync(bool https, int port = 0, X509Certificate2? certificate = null)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l =>
            {
                if (https)
                {
                    l.UseHttps(certificate!);
                }
            }));
            var app = builder.Build();
            var fake = new FakeApiServer(app);
            app.Run(fake.ServeAsync);
            await app.StartAsync();
            fake.Url = app.Urls.First();
            fake.Port = new Uri(fake.Url).Port;
            return fake;
        }

        private async Task ServeAsync(HttpContext ctx)
        {
            Interlocked.Increment(ref _arrived);
            using var reader = new StreamReader(ctx.Request.Body);
            var body = await reader.ReadToEndAsync();
            if (Hold is { } hold)
            {
                await hold.Task;
            }

            lock (_requests)
            {
                _requests.Add(new SeenRequest(ctx.Request.Method, ctx.Request.Path.Value ?? "", ctx.Request.ContentType, ctx.Request.Headers.Authorization.ToString(),
                    ctx.Request.Headers.UserAgent.ToString(), body, DateTime.UtcNow));
            }

            if (Failures.TryDequeue(out var code))
            {
                ctx.Response.StatusCode = code;
                await ctx.Response.WriteAsync("""{"kind":"Status","message":"fault"}""");
                return;
            }

            var patch = JsonNode.Parse(body)!["metadata"]!;
            foreach (var (key, value) in patch["labels"]?.AsObject() ?? [])
            {
                Labels[key] = value!.GetValue<string>();
            }

            foreach (var (key, value) in patch["annotations"]?.AsObject() ?? [])
            {
                Annotations[key] = value!.GetValue<string>();
            }

            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync("""{"kind":"Pod","apiVersion":"v1"}""");
        }

        public async ValueTask DisposeAsync()
        {
            Hold?.TrySetResult();
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    /// <summary>A CA and a server certificate for 127.0.0.1 signed by it.</summary>
    private sealed class TestCa : IDisposable
    {
        private TestCa(X509Certificate2 ca, X509Certificate2 server)
        {
            Ca = ca;
            ServerCertificate = server;
        }

        public X509Certificate2 Ca { get; }

        public X509Certificate2 ServerCertificate { get; }

        public string CaPem => Ca.ExportCertificatePem();

        public static TestCa Create()
        {
            using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var caRequest = new CertificateRequest("CN=kuorum-test-ca", caKey, HashAlgorithmName.SHA256);
            caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            var now = DateTimeOffset.UtcNow;
            var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddHours(1));

            using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var serverRequest = new CertificateRequest("CN=kube-apiserver", serverKey, HashAlgorithmName.SHA256);
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            serverRequest.CertificateExtensions.Add(names.Build());
            serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
            using var signed = serverRequest.Create(ca, now.AddMinutes(-5), now.AddHours(1), [1, 2, 3, 4]);
            using var withKey = signed.CopyWithPrivateKey(serverKey);
            var server = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pfx), null);
            return new TestCa(ca, server);
        }

        public void Dispose()
        {
            Ca.Dispose();
            ServerCertificate.Dispose();
        }
    }

    private sealed class CollectingLogger : ILogger
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyList<string> Lines => [.. _lines];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _lines.Enqueue($"{logLevel}: {formatter(state, exception)}");
    }
}
