using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Kuorum.Agent.Security;
using Kuorum.Agent.Tests.Harness;
using Kuorum.Agent.Transport;
using Kuorum.Api.V1;
using Kuorum.Demo;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Kuorum.Agent.Tests;

/// <summary>
/// Mutual TLS on the peer port with real agent processes on loopback: a cluster over mTLS forms, replicates and fails
/// over; the peer port refuses clients without a certificate or with one from another CA; the client side refuses a peer
/// whose certificate names another host; a certificate replaced on disk is served and presented on new connections
/// without a restart.
/// </summary>
[Collection(nameof(ClusterTests))]
public sealed class PeerTlsClusterTests(ITestOutputHelper output)
{
    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    [Fact]
    public async Task AMutualTlsCluster_ElectsALeader_ReplicatesAWriteThroughAFollower_AndSurvivesALeaderKill()
    {
        await using var cluster = AgentCluster.StartMutualTls(output, 3);
        var leader = await cluster.WaitForLeaderAsync();
        foreach (var agent in cluster.Agents)
        {
            await WaitUntilAsync(() => Task.FromResult(agent.Output.Contains($"peer port {agent.PeerPort}: mutual TLS, certificate CN=kuorum-agent-{agent.Id}", StringComparison.Ordinal)), cluster);
        }

        var follower = cluster.Agents.First(a => a != leader);
        var put = await Calls.RetryWhileUnavailableAsync(() => follower.Kv.PutAsync(new PutRequest { Key = B("tls/k"), Value = B("v1") }).ResponseAsync);
        Assert.True(put.Header.Revision > 0);
        foreach (var agent in cluster.Agents)
        {
            var got = await agent.Kv.GetAsync(new GetRequest { Key = B("tls/k") });
            Assert.Equal("v1", got.Kv?.Value.ToStringUtf8());
        }

        await leader.KillAsync();
        var next = await cluster.WaitForLeaderAsync(not: leader);
        Assert.NotEqual(leader.Id, next.Id);
        foreach (var agent in cluster.Agents.Where(a => a.IsRunning))
        {
            var got = await agent.Kv.GetAsync(new GetRequest { Key = B("tls/k") });
            Assert.Equal("v1", got.Kv?.Value.ToStringUtf8());
        }

        // The new leader takes writes, and the other survivor (a follower over mTLS) sees them.
        await Calls.RetryWhileUnavailableAsync(() => next.Kv.PutAsync(new PutRequest { Key = B("tls/after"), Value = B("v2") }).ResponseAsync);
        var survivor = cluster.Agents.First(a => a.IsRunning && a != next);
        Assert.Equal("v2", (await survivor.Kv.GetAsync(new GetRequest { Key = B("tls/after") })).Kv?.Value.ToStringUtf8());
    }

    [Fact]
    public async Task ThePeerPort_RefusesClientsWithoutACertificateOrFromAnotherCa_AndKeepsServingItsCluster()
    {
        await using var cluster = AgentCluster.StartMutualTls(output, 3);
        var leader = await cluster.WaitForLeaderAsync();
        var ca = cluster.Tls!;
        using var member = ca.Issue("test-client");
        using var otherCa = LocalCertificateAuthority.Create(Path.Combine(ca.Directory, "other-ca"), "Another CA");
        using var intruder = otherCa.Issue("intruder");

        // The control: a client with a certificate from the cluster's CA is served.
        using (var channel = PeerChannel(leader.PeerPort, member))
        {
            var status = await new Admin.AdminClient(channel).StatusAsync(new StatusRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
            Assert.Equal(3, status.Members.Count);
        }

        Assert.True(await TlsExchangeWorksAsync(leader.PeerPort, member), "a client with a certificate from the cluster's CA must get an HTTP/2 answer");

        foreach (var (what, certificate) in new (string, X509Certificate2?)[] { ("no certificate", null), ("a certificate from another CA", intruder) })
        {
            using var channel = PeerChannel(leader.PeerPort, certificate);
            var error = await Assert.ThrowsAsync<RpcException>(async () =>
                await new Admin.AdminClient(channel).StatusAsync(new StatusRequest(), deadline: DateTime.UtcNow.AddSeconds(10)));
            output.WriteLine($"{what}: {error.StatusCode} {error.Status.Detail} ({error.Status.DebugException?.GetBaseException().Message})");
            Assert.Contains(error.StatusCode, new[] { StatusCode.Unavailable, StatusCode.Internal });
            Assert.False(await TlsExchangeWorksAsync(leader.PeerPort, certificate), $"a client with {what} got an HTTP/2 answer from the peer port");
        }

        // Plaintext HTTP/2 (what the peer port spoke before) is not understood either.
        using (var plain = GrpcChannel.ForAddress($"http://{leader.PeerAddress}"))
        {
            await Assert.ThrowsAsync<RpcException>(async () =>
                await new Admin.AdminClient(plain).StatusAsync(new StatusRequest(), deadline: DateTime.UtcNow.AddSeconds(10)));
        }

        await WaitUntilAsync(() => Task.FromResult(
            leader.Output.Contains("peer TLS: refused a connection from 127.0.0.1: it presented no client certificate", StringComparison.Ordinal)
            && leader.Output.Contains("peer TLS: refused a connection from 127.0.0.1: its certificate (CN=intruder", StringComparison.Ordinal)), cluster);

        // The cluster never noticed: same leader, every member running, a write through a follower replicated.
        Assert.All(cluster.Agents, a => Assert.True(a.IsRunning));
        Assert.Equal(leader.Id, (await cluster.WaitForLeaderAsync()).Id);
        var follower = cluster.Agents.First(a => a != leader);
        await Calls.RetryWhileUnavailableAsync(() => follower.Kv.PutAsync(new PutRequest { Key = B("still"), Value = B("serving") }).ResponseAsync);
        foreach (var agent in cluster.Agents)
        {
            Assert.Equal("serving", (await agent.Kv.GetAsync(new GetRequest { Key = B("still") })).Kv?.Value.ToStringUtf8());
        }
    }

    [Fact]
    public async Task APeerWhoseCertificateNamesAnotherHost_IsRefusedByTheClientSide()
    {
        await using var cluster = AgentCluster.CreateMutualTls(output, 3);
        var ca = cluster.Tls!;
        // Agent 3's certificate is from the right CA but names only wrong.kuorum.invalid, not 127.0.0.1 where it listens.
        ca.IssueAgent(3, dnsNames: ["wrong.kuorum.invalid"], ipAddresses: []).Dispose();
        cluster.StartAll();
        var (one, two, three) = (cluster.Agents[0], cluster.Agents[1], cluster.Agents[2]);

        // The agent's own client (the peer transport's channel) with a certificate of the cluster: agent 1 passes,
        // agent 3 is refused for its name alone.
        var clientDirectory = Path.Combine(ca.Directory, "test-client");
        using (var clientCertificate = ca.Issue("test-client"))
        {
            LocalCertificateAuthority.WriteFiles(clientDirectory, clientCertificate);
        }

        using var tls = PeerCertificates.Load(new PeerTlsSettings(Path.Combine(clientDirectory, "tls.crt"), Path.Combine(clientDirectory, "tls.key"), ca.CaFile));
        var log = new ListLogger();
        tls.Logger = log;
        await WaitUntilAsync(async () =>
        {
            using var channel = PeerTransport.CreateChannel(one.PeerAddress, tls);
            return (await new Admin.AdminClient(channel).StatusAsync(new StatusRequest(), deadline: DateTime.UtcNow.AddSeconds(5))).Members.Count == 3;
        }, cluster);
        using (var channel = PeerTransport.CreateChannel(three.PeerAddress, tls))
        {
            var error = await Assert.ThrowsAsync<RpcException>(async () =>
                await new Admin.AdminClient(channel).StatusAsync(new StatusRequest(), deadline: DateTime.UtcNow.AddSeconds(10)));
            output.WriteLine($"agent 3: {error.StatusCode} {error.Status.Detail} ({error.Status.DebugException?.GetBaseException().Message})");
            Assert.Contains(error.StatusCode, new[] { StatusCode.Unavailable, StatusCode.Internal });
        }

        Assert.Contains(log.Messages, m => m.StartsWith($"peer TLS: refused the peer at {three.PeerAddress}: its certificate (CN=kuorum-agent-3", StringComparison.Ordinal)
            && m.EndsWith("names wrong.kuorum.invalid, not 127.0.0.1", StringComparison.Ordinal));
        Assert.DoesNotContain(log.Messages, m => m.Contains(one.PeerAddress, StringComparison.Ordinal));

        // In the cluster: agents 1 and 2 elect a leader and replicate; agent 3 never receives anything from them.
        LocalAgent? leader = null;
        await WaitUntilAsync(async () =>
        {
            var a = await one.Leadership.GetLeaderAsync(new GetLeaderRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
            var b = await two.Leadership.GetLeaderAsync(new GetLeaderRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
            leader = a.LeaderId is 1 or 2 && a.LeaderId == b.LeaderId && a.Term == b.Term ? cluster.Agents[(int)a.LeaderId - 1] : null;
            return leader is not null;
        }, cluster);
        await Calls.RetryWhileUnavailableAsync(() => leader!.Kv.PutAsync(new PutRequest { Key = B("named"), Value = B("right") }).ResponseAsync);
        var other = leader == one ? two : one;
        Assert.Equal("right", (await other.Kv.GetAsync(new GetRequest { Key = B("named") })).Kv?.Value.ToStringUtf8());
        await Task.Delay(2000);
        Assert.True(three.IsRunning);
        Assert.Null(await StaleValueAsync(three, "named"));
        Assert.Contains($"peer TLS: the certificate does not name 127.0.0.1, the host of this agent's peer address {three.PeerAddress}", three.Output, StringComparison.Ordinal);
        Assert.True(
            one.Output.Contains($"peer TLS: refused the peer at {three.PeerAddress}: its certificate (CN=kuorum-agent-3", StringComparison.Ordinal)
            || two.Output.Contains($"peer TLS: refused the peer at {three.PeerAddress}: its certificate (CN=kuorum-agent-3", StringComparison.Ordinal),
            "agents 1 and 2 log why they refuse agent 3");
    }

    [Fact]
    public async Task ACertificateReplacedOnDisk_IsServedAndPresentedOnNewConnections_WithoutARestart()
    {
        await using var cluster = AgentCluster.StartMutualTls(output, 3);
        var leader = await cluster.WaitForLeaderAsync();
        var ca = cluster.Tls!;
        using var client = ca.Issue("test-client");
        using var original = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(ca.AgentDirectory(leader.Id), "tls.crt")));
        Assert.Equal(original.Thumbprint, (await ServedCertificateAsync(leader.PeerPort, client)).Thumbprint);

        // A peer of our own, added as a learner: the leader dials it to replicate, and it records the certificate every
        // connection presents (then hangs up, so the leader dials again).
        using var recorderCertificate = ca.Issue("recording-peer");
        await using var recorder = new RecordingPeer(recorderCertificate);
        await leader.Admin.AddLearnerAsync(new AddLearnerRequest { Id = 9, Address = $"127.0.0.1:{recorder.Port}" });
        await WaitUntilAsync(() => Task.FromResult(recorder.Presented.Contains(original.Thumbprint)), cluster);

        // Replace the leader's certificate and key (same CA, new key) the way the kubelet updates a Secret.
        using var rotated = ca.IssueAgent(leader.Id);
        Assert.NotEqual(original.Thumbprint, rotated.Thumbprint);
        Assert.NotEqual(Convert.ToHexString(original.GetPublicKey()), Convert.ToHexString(rotated.GetPublicKey()));
        await WaitUntilAsync(async () => (await ServedCertificateAsync(leader.PeerPort, client)).Thumbprint == rotated.Thumbprint, cluster);
        await WaitUntilAsync(() => Task.FromResult(recorder.Presented.Contains(rotated.Thumbprint)), cluster);
        Assert.Contains($"peer TLS: the files changed; new connections use certificate CN=kuorum-agent-{leader.Id}, serial {rotated.SerialNumber}", leader.Output, StringComparison.Ordinal);

        // From then on every new connection shows the new certificate, both ways.
        var seen = recorder.Presented.Count;
        await Task.Delay(1500);
        var later = recorder.Presented.Skip(seen).ToList();
        Assert.NotEmpty(later);
        Assert.All(later, t => Assert.Equal(rotated.Thumbprint, t));
        Assert.Equal(rotated.Thumbprint, (await ServedCertificateAsync(leader.PeerPort, client)).Thumbprint);

        // The cluster works on over new connections: a restarted follower dials the leader (checking the new server
        // certificate) and is dialled by it (checking the new client certificate), and catches up.
        Assert.True(leader.IsRunning);
        var follower = cluster.Agents.First(a => a != leader);
        await follower.KillAsync();
        await Calls.RetryWhileUnavailableAsync(() => leader.Kv.PutAsync(new PutRequest { Key = B("rotated"), Value = B("yes") }).ResponseAsync);
        follower.Start(cluster.Peers);
        await WaitUntilAsync(async () => await StaleValueAsync(follower, "rotated") == "yes", cluster);
        Assert.Equal(leader.Id, (await cluster.WaitForLeaderAsync()).Id);
    }

    // A gRPC channel to a peer port that trusts any server certificate and presents `certificate` (or none).
    private static GrpcChannel PeerChannel(int port, X509Certificate2? certificate) =>
        GrpcChannel.ForAddress($"https://127.0.0.1:{port}", new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectTimeout = TimeSpan.FromSeconds(5),
                SslOptions = new SslClientAuthenticationOptions
                {
                    LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate!,
                    RemoteCertificateValidationCallback = (_, _, _, _) => true,
                    AllowTlsResume = false,
                },
            },
        });

    private static async Task<SslStream> ConnectAsync(TcpClient tcp, int port, X509Certificate2? certificate, CancellationToken cancellationToken)
    {
        await tcp.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
        var ssl = new SslStream(tcp.GetStream());
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "127.0.0.1",
            LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate!,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
            ApplicationProtocols = [SslApplicationProtocol.Http2],
            AllowTlsResume = false,
        }, cancellationToken);
        return ssl;
    }

    // The certificate the peer port serves to a new connection.
    private static async Task<X509Certificate2> ServedCertificateAsync(int port, X509Certificate2 client)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var tcp = new TcpClient();
        await using var ssl = await ConnectAsync(tcp, port, client, timeout.Token);
        return X509CertificateLoader.LoadCertificate(ssl.RemoteCertificate!.GetRawCertData());
    }

    // True when a TLS connection presenting `certificate` gets the server's HTTP/2 SETTINGS after the client preface;
    // false when the handshake fails or the server drops the connection (with TLS 1.3 a refused client certificate shows
    // on the first read).
    private async Task<bool> TlsExchangeWorksAsync(int port, X509Certificate2? certificate)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var tcp = new TcpClient();
        try
        {
            await using var ssl = await ConnectAsync(tcp, port, certificate, timeout.Token);
            byte[] preface = [.. "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8, 0, 0, 0, 4, 0, 0, 0, 0, 0];
            await ssl.WriteAsync(preface, timeout.Token);
            var buffer = new byte[9];
            var read = await ssl.ReadAsync(buffer, timeout.Token);
            output.WriteLine($"TLS exchange with {(certificate is null ? "no certificate" : certificate.Subject)}: read {read} bytes, first frame type {(read >= 4 ? buffer[3] : -1)}");
            return read >= 4 && buffer[3] == 4;
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            output.WriteLine($"TLS exchange with {(certificate is null ? "no certificate" : certificate.Subject)} failed: {e.GetType().Name}: {e.Message}");
            return false;
        }
    }

    private static async Task<string?> StaleValueAsync(LocalAgent agent, string key)
    {
        try
        {
            var got = await agent.Kv.GetAsync(new GetRequest { Key = B(key), Consistency = Consistency.Stale }, deadline: DateTime.UtcNow.AddSeconds(5));
            return got.Kv?.Value.ToStringUtf8();
        }
        catch (RpcException)
        {
            return null;
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, AgentCluster cluster, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        string last = "";
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (Exception e) when (e is RpcException or IOException or AuthenticationException or SocketException)
            {
                last = e.Message;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"condition not met in time (last error: {last}):\n{cluster.Dump()}");
    }

    /// <summary>Collects what a component logs.</summary>
    private sealed class ListLogger : ILogger
    {
        public ConcurrentQueue<string> Messages { get; } = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Messages.Enqueue(formatter(state, exception));
    }

    /// <summary>
    /// A TLS listener on 127.0.0.1 posing as a peer: it requires a client certificate, records the thumbprint of each
    /// one presented, and closes the connection.
    /// </summary>
    private sealed class RecordingPeer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly X509Certificate2 _certificate;
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentQueue<string> _presented = new();
        private readonly Task _accepting;

        public RecordingPeer(X509Certificate2 certificate)
        {
            _certificate = certificate;
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _accepting = AcceptAsync();
        }

        public int Port { get; }

        public List<string> Presented => [.. _presented];

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }

                _ = Task.Run(async () =>
                {
                    using (client)
                    {
                        try
                        {
                            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                            await using var ssl = new SslStream(client.GetStream());
                            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                            {
                                ServerCertificate = _certificate,
                                ClientCertificateRequired = true,
                                RemoteCertificateValidationCallback = (_, _, _, _) => true,
                                ApplicationProtocols = [SslApplicationProtocol.Http2],
                                AllowTlsResume = false,
                            }, timeout.Token);
                            if (ssl.RemoteCertificate is { } presented)
                            {
                                _presented.Enqueue(presented.GetCertHashString());
                            }
                        }
                        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException)
                        {
                        }
                    }
                });
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _accepting;
            _stop.Dispose();
        }
    }
}
