using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using k8s;
using k8s.Models;
using Kuorum.Api.V1;
using Kuorum.Operator.Admin;
using Kuorum.Operator.Resources;
using Kuorum.Operator.Tests.Emulation;
using Xunit.Abstractions;

namespace Kuorum.Operator.Tests.EndToEnd;

[CollectionDefinition(nameof(EndToEndTests), DisableParallelization = true)]
public sealed class EndToEndCollection;

/// <summary>
/// The operator end to end, against the API server EMULATION with real agents: the StatefulSet controller emulation
/// creates the pods, the <see cref="AgentKubeletEmulation"/> runs a real agent process for each (the built
/// kuorum-agent.dll, with the pod's environment) in a network namespace of its own on the <see cref="PodNetworkEmulation"/>,
/// and the operator talks to the agents' Admin service at the pod IPs, as in a cluster. Needs root (ip netns).
/// </summary>
[Collection(nameof(EndToEndTests))]
[Trait("Requires", "root")]
public sealed class EndToEndTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Ns = OperatorFixture.Namespace;
    private readonly ConcurrentQueue<string> _log = new();
    private readonly ConcurrentDictionary<string, GrpcChannel> _channels = new();
    private readonly ConcurrentDictionary<string, V1Secret?> _tlsClusters = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private PodNetworkEmulation? _network;
    private AgentKubeletEmulation? _kubelet;
    private OperatorFixture? _fixture;
    private RecordingAgentAdmin _admin = null!;
    private GrpcAgentAdmin? _grpc;

    private OperatorFixture Fixture => _fixture!;

    private AgentKubeletEmulation Kubelet => _kubelet!;

    public async Task InitializeAsync()
    {
        if (PodNetworkEmulation.WhyUnavailable() is not null)
        {
            return; // [RootFact] skips the test.
        }

        _network = await PodNetworkEmulation.CreateAsync(Log);
        _fixture = await OperatorFixture.StartAsync(
            api => _kubelet = new AgentKubeletEmulation(api.Store, _network, api.UrlOn(_network.NodeAddress), Log),
            _network.NodeAddress);
        _grpc = new GrpcAgentAdmin();
        _admin = new RecordingAgentAdmin(_grpc);
    }

    public async Task DisposeAsync()
    {
        try
        {
            if (_fixture is not null)
            {
                await _fixture.DisposeAsync();
            }
        }
        finally
        {
            if (_kubelet is not null)
            {
                await _kubelet.DisposeAsync();
            }

            if (_network is not null)
            {
                await _network.DisposeAsync();
            }

            _grpc?.Dispose();
            foreach (var channel in _channels.Values)
            {
                channel.Dispose();
            }
        }

        if (_network is not null)
        {
            // Nothing of this run may be left: no namespace, no agent.
            var left = await Tool("ip", "netns", "list");
            Assert.DoesNotContain($"kqe-{_network.RunId}-", left, StringComparison.Ordinal);
            Assert.False(Directory.Exists(_network.StateDirectory), "the run's state directory was left behind");
        }
    }

    [RootFact]
    public async Task RealAgents_StatusTellsTheRealLeaderAndTerm_AndANewLeaderAfterTheLeaderIsKilled_NeedsRoot()
    {
        await WithDiagnostics(async () =>
        {
            await Fixture.StartOperatorAsync(_admin);
            await Fixture.CreateClusterAsync("e2e", 3, RealAgents);

            var first = await WaitForTruthAsync("e2e", 3, (t, c) => c.Status!.ReadyReplicas == 3 && OperatorFixture.Condition(c, ConditionTypes.Ready) == "True",
                "Ready with the leader the agents agree on", TimeSpan.FromSeconds(90));
            Mark($"cluster up: {first.Leader} leads in term {first.Term}");
            var cluster = await Fixture.GetClusterAsync("e2e");
            Assert.Equal(["e2e-0", "e2e-1", "e2e-2"], cluster.Status!.Members!.Select(m => m.Name).Order());
            Assert.Equal(first.Leader, cluster.Status.Members!.Single(m => m.Role == "Leader").Name);
            Assert.Equal("Running", cluster.Status.Phase);

            // Each agent got its pod's environment, as a kubelet builds it (envFrom the ConfigMap, fieldRefs).
            var pod0 = Kubelet.Find(Ns, "e2e-0")!;
            Assert.Equal("e2e-0", pod0.Environment["KUORUM_POD_NAME"]);
            Assert.Equal(Ns, pod0.Environment["KUORUM_POD_NAMESPACE"]);
            Assert.Equal("e2e-{ordinal}.e2e-peers.apps.svc.cluster.local:7400", pod0.Environment["KUORUM_PEER_ADDRESS_TEMPLATE"]);
            Assert.Equal("3", pod0.Environment["KUORUM_BOOTSTRAP_MEMBERS"]);
            Assert.StartsWith(pod0.Directory, pod0.Environment["KUORUM_DATA_DIR"], StringComparison.Ordinal);
            await CheckRoleLabelsAsync("e2e", first);

            var pid = Kubelet.KillAgent(Ns, first.Leader);
            Mark($"SIGKILL to {first.Leader} (PID {pid})");
            var second = await WaitForTruthAsync("e2e", 2, (t, _) => t.Leader != first.Leader && t.Term > first.Term,
                "a new leader with a higher term", TimeSpan.FromSeconds(60));
            Mark($"status shows the new leader: {second.Leader} in term {second.Term}");
            var events = await Fixture.Client.CoreV1.ListNamespacedEventAsync(Ns);
            Assert.Contains(events.Items, e => e.InvolvedObject.Name == "e2e" && e.Reason == "LeaderElected" && e.Message.Contains($"{second.Leader} leads in term {second.Term}", StringComparison.Ordinal));
            await CheckRoleLabelsAsync("e2e", second);

            // The kubelet emulation restarts the killed agent (after its CrashLoopBackOff delay); it rejoins as a follower.
            var back = await WaitForTruthAsync("e2e", 3, (t, c) => c.Status!.ReadyReplicas == 3 && t.Agents.Count == 3 && t.Agents.Values.All(a => a.LeaderId == t.LeaderId),
                "the killed agent back and following", TimeSpan.FromSeconds(60));
            Assert.Equal(1, Kubelet.Find(Ns, first.Leader)!.RestartCount);
            Assert.NotEqual(first.Leader, back.Leader);
            Mark($"{first.Leader} restarted and follows {back.Leader} in term {back.Term}");
            await CheckRoleLabelsAsync("e2e", back); // the restarted agent relabels its pod follower
        });
    }

    [RootFact]
    public async Task RealAgents_ScaleTo5ThroughLearnerAndPromote_AndBackTo3ByRemoval_NeedsRoot()
    {
        await WithDiagnostics(async () =>
        {
            await Fixture.StartOperatorAsync(_admin);
            await Fixture.CreateClusterAsync("grow", 3, RealAgents);
            await WaitForTruthAsync("grow", 3, (_, c) => c.Status!.ReadyReplicas == 3 && OperatorFixture.Condition(c, ConditionTypes.Ready) == "True",
                "three ready members", TimeSpan.FromSeconds(90));
            Mark("three members");

            var scale = new V1Patch("{\"spec\":{\"replicas\":5}}", V1Patch.PatchType.MergePatch);
            await Fixture.Client.CustomObjects.PatchNamespacedCustomObjectScaleAsync(scale, ConsensusCluster.ApiGroup, ConsensusCluster.ApiVersionName, Ns, ConsensusCluster.Plural, "grow");
            var five = await WaitForTruthAsync("grow", 5, (t, c) =>
                    c.Status!.ReadyReplicas == 5 && OperatorFixture.Condition(c, ConditionTypes.Ready) == "True"
                    && c.Status.Members?.Count == 5 && c.Status.Members.All(m => m.Role != "Learner")
                    && t.Agents[t.Leader].Members.Count(m => m.Voter) == 5 && t.Agents.Count == 5,
                "five voters, all ready", TimeSpan.FromSeconds(120));
            Mark($"five voters; {five.Leader} leads in term {five.Term}");
            Assert.Equal(["AddLearner 4", "Promote 4", "AddLearner 5", "Promote 5"], _admin.Calls);
            Assert.All(five.Agents.Values, a => Assert.Equal(five.LeaderId, a.LeaderId));
            // The new members were reached through their DNS names, resolved by the emulated cluster DNS (hosts files).
            Assert.Contains(five.Agents[five.Leader].Members, m => m.Id == 5 && m.Address == "grow-4.grow-peers.apps.svc.cluster.local:7400");

            var cluster = await Fixture.GetClusterAsync("grow");
            cluster.Spec.Replicas = 3;
            await Fixture.Client.CustomObjects.ReplaceNamespacedCustomObjectAsync(cluster, ConsensusCluster.ApiGroup, ConsensusCluster.ApiVersionName, Ns, ConsensusCluster.Plural, "grow");
            var three = await WaitForTruthAsync("grow", 3, (t, c) =>
                    c.Status!.ReadyReplicas == 3 && c.Status.Members?.Count == 3 && OperatorFixture.Condition(c, ConditionTypes.Ready) == "True"
                    && t.Agents[t.Leader].Members.Count == 3 && Kubelet.Pods.Count(p => p.Name.StartsWith("grow-", StringComparison.Ordinal)) == 3,
                "three members again, the two removed pods gone", TimeSpan.FromSeconds(120));
            Mark($"three members again; {three.Leader} leads in term {three.Term}");
            var removals = _admin.Calls.Skip(4).Where(c => c.StartsWith("Remove", StringComparison.Ordinal)).ToList();
            Assert.Equal(["Remove 5", "Remove 4"], removals);
            Assert.Equal([1L, 2L, 3L], three.Agents[three.Leader].Members.Select(m => m.Id).Order());
        });
    }

    [RootFact]
    public async Task RealAgents_MutualTlsAuto_FormOverTls_TheOperatorReportsLeaderAndTerm_AndACertificateRotates_NeedsRoot()
    {
        await WithDiagnostics(async () =>
        {
            await Fixture.StartOperatorAsync(_admin);
            await Fixture.CreateClusterAsync("mtls", 3, RealAgentsOverMutualTls);
            _tlsClusters["mtls"] = null; // the test's own Status calls go over mutual TLS too, with the cluster's Secret

            // The status names the leader and term the agents report over mTLS: the operator's mTLS client works
            // (status.leader and status.term come only from Admin.Status) and the agents formed a cluster over mTLS.
            var first = await WaitForTruthAsync("mtls", 3, (_, c) => c.Status!.ReadyReplicas == 3 && OperatorFixture.Condition(c, ConditionTypes.Ready) == "True",
                "Ready over mutual TLS with the leader the agents agree on", TimeSpan.FromSeconds(90));
            Mark($"cluster up over mTLS: {first.Leader} leads in term {first.Term}");
            Assert.All(first.Agents.Values, a => Assert.Equal(first.LeaderId, a.LeaderId));
            var cluster = await Fixture.GetClusterAsync("mtls");
            Assert.Equal(["mtls-0", "mtls-1", "mtls-2"], cluster.Status!.Members!.Select(m => m.Name).Order());

            // Each agent runs with the Secret's files, materialised by the kubelet emulation at the paths it was given.
            var secret = await Fixture.Client.CoreV1.ReadNamespacedSecretAsync("mtls-tls", Ns);
            foreach (var pod in Kubelet.Pods.Where(p => p.Name.StartsWith("mtls-", StringComparison.Ordinal)))
            {
                foreach (var (variable, key) in new[] { ("KUORUM_PEER_TLS_CERT", "tls.crt"), ("KUORUM_PEER_TLS_KEY", "tls.key"), ("KUORUM_PEER_TLS_CA", "ca.crt") })
                {
                    var path = pod.Environment[variable];
                    Assert.StartsWith(pod.Directory, path, StringComparison.Ordinal);
                    Assert.Equal(secret.Data[key], await File.ReadAllBytesAsync(path));
                }
            }

            // The peer port speaks only mutual TLS: plain HTTP/2 and TLS without a client certificate are refused.
            var agent0 = Kubelet.Find(Ns, "mtls-0")!.Sandbox!.Address;
            using (var plain = GrpcChannel.ForAddress($"http://{agent0}:7400"))
            {
                await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () =>
                    await new Kuorum.Api.V1.Admin.AdminClient(plain).StatusAsync(new StatusRequest(), deadline: DateTime.UtcNow.AddSeconds(3)));
            }

            using (var anonymous = TlsChannel($"{agent0}:7400", "mtls-0.mtls-peers.apps.svc.cluster.local", secret, clientCertificate: false))
            {
                await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () =>
                    await new Kuorum.Api.V1.Admin.AdminClient(anonymous).StatusAsync(new StatusRequest(), deadline: DateTime.UtcNow.AddSeconds(3)));
            }

            Mark("the peer port refuses plain HTTP/2 and TLS without a client certificate");

            // Rotation: a deleted peer Secret is reissued by the same CA; the kubelet emulation updates the files, the
            // agents pick the new certificate up without a restart, and the cluster keeps its leader visible.
            var before = await ServedThumbprints(secret);
            Assert.Equal(3, before.Count);
            await Fixture.Client.CoreV1.DeleteNamespacedSecretAsync("mtls-tls", Ns);
            V1Secret? renewed = null;
            await Eventually.TrueAsync(async () =>
            {
                try
                {
                    renewed = await Fixture.Client.CoreV1.ReadNamespacedSecretAsync("mtls-tls", Ns);
                    return !renewed.Data["tls.crt"].SequenceEqual(secret.Data["tls.crt"]);
                }
                catch (k8s.Autorest.HttpOperationException)
                {
                    return false;
                }
            }, "the operator to reissue the peer certificate", TimeSpan.FromSeconds(30));
            Assert.Equal(secret.Data["ca.crt"], renewed!.Data["ca.crt"]);
            _tlsClusters["mtls"] = null; // call with the new certificate from now on
            using var expected = X509Certificate2.CreateFromPem(System.Text.Encoding.UTF8.GetString(renewed.Data["tls.crt"]));
            await Eventually.TrueAsync(async () =>
            {
                var now = await ServedThumbprints(renewed);
                return now.Count == 3 && now.Values.All(t => t == expected.Thumbprint);
            }, "every agent to serve the reissued certificate", TimeSpan.FromSeconds(60));
            Assert.All(before.Values, t => Assert.NotEqual(expected.Thumbprint, t));
            Assert.All(Kubelet.Pods.Where(p => p.Name.StartsWith("mtls-", StringComparison.Ordinal)), p => Assert.Equal(0, p.RestartCount));
            var after = await WaitForTruthAsync("mtls", 3, (_, c) => OperatorFixture.Condition(c, ConditionTypes.Ready) == "True",
                "the cluster Ready on the reissued certificate", TimeSpan.FromSeconds(60));
            Mark($"certificate rotated without restarts; {after.Leader} leads in term {after.Term}");
        });
    }

    /// <summary>Real agents in plain HTTP/2 (mode Disabled); <see cref="RealAgentsOverMutualTls"/> for mode Auto.</summary>
    private static void RealAgents(ConsensusClusterSpec spec)
    {
        spec.Probe = null; // the application containers are not run by the kubelet emulation
        spec.Timing = new TimingSpec { HeartbeatInterval = "100ms", ElectionTimeout = "1s" };
        spec.Tls = new TlsSpec { Mode = TlsModes.Disabled };
    }

    private static void RealAgentsOverMutualTls(ConsensusClusterSpec spec)
    {
        RealAgents(spec);
        spec.Tls = new TlsSpec { Mode = TlsModes.Auto };
    }

    /// <summary>
    /// Waits until the cluster's status names a leader and term that the agents themselves report (the named agent
    /// says it leads in that term, and a majority of the <paramref name="members"/> follow it), and
    /// <paramref name="condition"/> holds.
    /// </summary>
    private async Task<Truth> WaitForTruthAsync(string name, int members, Func<Truth, ConsensusCluster, bool> condition, string what, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        string last = "nothing yet";
        while (DateTime.UtcNow < deadline)
        {
            var cluster = await Fixture.GetClusterAsync(name);
            var agents = await AgentStatusesAsync(name);
            last = $"status leader={cluster.Status?.Leader ?? "none"} term={cluster.Status?.Term} ready={cluster.Status?.ReadyReplicas} members={cluster.Status?.Members?.Count}; agents: "
                   + string.Join(", ", agents.OrderBy(a => a.Key).Select(a => $"{a.Key}(id {a.Value.Id}) leader={a.Value.LeaderId} term={a.Value.Term}"));
            if (cluster.Status?.Leader is { } leader && cluster.Status.Term is { } term
                && agents.TryGetValue(leader, out var self) && self.LeaderId == self.Id && self.Term == term
                && agents.Values.Count(a => a.LeaderId == self.Id && a.Term == term) >= (members / 2) + 1)
            {
                var truth = new Truth(leader, term, self.Id, agents);
                try
                {
                    if (condition(truth, cluster))
                    {
                        return truth;
                    }
                }
                catch (KeyNotFoundException)
                {
                }
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"timed out after {timeout.TotalSeconds:0} s waiting for {what}; last seen: {last}");
    }

    /// <summary>What every reachable agent of the cluster says about itself, by its own kuorum.v1.Admin.Status at its pod IP.</summary>
    private async Task<Dictionary<string, StatusResponse>> AgentStatusesAsync(string cluster)
    {
        var pods = Kubelet.Pods.Where(p => p.Name.StartsWith(cluster + "-", StringComparison.Ordinal) && p.Pid is not null && p.Sandbox is not null).ToList();
        var secret = await TlsSecretAsync(cluster);
        var answers = await Task.WhenAll(pods.Select(async pod =>
        {
            var address = $"{pod.Sandbox!.Address}:7400";
            var channel = secret is null
                ? _channels.GetOrAdd(address, a => GrpcChannel.ForAddress("http://" + a))
                : _channels.GetOrAdd($"{address}|{secret.Metadata.ResourceVersion}", _ => TlsChannel(address, $"{pod.Name}.{cluster}-peers.{Ns}.svc.cluster.local", secret, clientCertificate: true));
            try
            {
                var status = await new Kuorum.Api.V1.Admin.AdminClient(channel).StatusAsync(new StatusRequest(), deadline: DateTime.UtcNow.AddSeconds(1));
                return (pod.Name, Status: status);
            }
            catch (Grpc.Core.RpcException)
            {
                return (pod.Name, Status: (StatusResponse?)null);
            }
        }));
        return answers.Where(a => a.Status is not null).ToDictionary(a => a.Name, a => a.Status!);
    }

    /// <summary>The cluster's peer Secret when the test talks to its agents over mutual TLS (read once per rotation), else null.</summary>
    private async Task<V1Secret?> TlsSecretAsync(string cluster)
    {
        if (!_tlsClusters.TryGetValue(cluster, out var secret))
        {
            return null;
        }

        if (secret is null)
        {
            try
            {
                secret = await Fixture.Client.CoreV1.ReadNamespacedSecretAsync(cluster + "-tls", Ns);
                _tlsClusters[cluster] = secret;
            }
            catch (k8s.Autorest.HttpOperationException)
            {
                return null;
            }
        }

        return secret;
    }

    /// <summary>
    /// The test's own mutual-TLS channel to an agent, written apart from the operator's client: dials the pod IP,
    /// sends the pod's DNS name as the server name, and accepts the agent only if its certificate chains to the
    /// Secret's ca.crt and names that DNS name.
    /// </summary>
    private static GrpcChannel TlsChannel(string address, string serverName, V1Secret secret, bool clientCertificate)
    {
        var text = (string key) => System.Text.Encoding.UTF8.GetString(secret.Data[key]);
        var ca = X509Certificate2.CreateFromPem(text("ca.crt"));
        var ssl = new SslClientAuthenticationOptions
        {
            TargetHost = serverName,
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                if (certificate is not X509Certificate2 served)
                {
                    return false;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(served) && served.MatchesHostname(serverName, allowWildcards: true, allowCommonName: false);
            },
        };
        if (clientCertificate)
        {
            ssl.ClientCertificates = [X509Certificate2.CreateFromPem(text("tls.crt"), text("tls.key"))];
        }

        var handler = new SocketsHttpHandler { SslOptions = ssl };
        return GrpcChannel.ForAddress($"https://{address}", new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
    }

    /// <summary>The thumbprint of the certificate each agent of the mtls cluster serves on its peer port (a TLS handshake only).</summary>
    private async Task<Dictionary<string, string>> ServedThumbprints(V1Secret secret)
    {
        var served = new Dictionary<string, string>();
        foreach (var pod in Kubelet.Pods.Where(p => p.Name.StartsWith("mtls-", StringComparison.Ordinal) && p.Sandbox is not null))
        {
            try
            {
                using var tcp = new System.Net.Sockets.TcpClient();
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await tcp.ConnectAsync(pod.Sandbox!.Address, 7400, timeout.Token);
                X509Certificate2? seen = null;
                await using var tls = new SslStream(tcp.GetStream());
                var text = (string key) => System.Text.Encoding.UTF8.GetString(secret.Data[key]);
                await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = $"{pod.Name}.mtls-peers.{Ns}.svc.cluster.local",
                    ApplicationProtocols = [SslApplicationProtocol.Http2],
                    ClientCertificates = [X509Certificate2.CreateFromPem(text("tls.crt"), text("tls.key"))],
                    RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                    {
                        seen = certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                        return true; // only looking
                    },
                }, timeout.Token);
                if (seen is not null)
                {
                    served[pod.Name] = seen.Thumbprint;
                }
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException or System.Security.Authentication.AuthenticationException)
            {
            }
        }

        return served;
    }

    /// <summary>
    /// When the agents label their pods (the agent calls PodLabeler on leadership changes), the leader's pod carries
    /// kuorum.io/role=leader and the term, the others follower. Until the agent does, the emulation sees no patch
    /// from any agent and this says so in the test output.
    /// </summary>
    private async Task CheckRoleLabelsAsync(string cluster, Truth truth)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var labelling = Fixture.Api.Requests.Any(r => r.Method == "PATCH" && r.Path.Contains("/pods/", StringComparison.Ordinal) && r.UserAgent.StartsWith("kuorum-agent", StringComparison.Ordinal));
            var pods = (await Fixture.Client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: $"kuorum.io/cluster={cluster}")).Items;
            var leaderPod = pods.FirstOrDefault(p => p.Metadata.Name == truth.Leader);
            var right = leaderPod is not null && Get(leaderPod.Metadata.Labels, "kuorum.io/role") == "leader"
                        && Get(leaderPod.Metadata.Annotations, "kuorum.io/term") == truth.Term.ToString(CultureInfo.InvariantCulture)
                        && pods.Where(p => p.Metadata.Name != truth.Leader && truth.Agents.ContainsKey(p.Metadata.Name))
                            .All(p => Get(p.Metadata.Labels, "kuorum.io/role") == "follower");
            if (right)
            {
                Mark($"pod labels: {truth.Leader} kuorum.io/role=leader, kuorum.io/term={truth.Term}; the others follower");
                return;
            }

            if (DateTime.UtcNow > deadline || (!labelling && DateTime.UtcNow > deadline - TimeSpan.FromSeconds(7)))
            {
                if (!labelling)
                {
                    Mark("pod labels: not checked, no agent patched its pod (the agent does not call PodLabeler yet)");
                    return;
                }

                var seen = string.Join(", ", pods.Select(p => $"{p.Metadata.Name}: role={Get(p.Metadata.Labels, "kuorum.io/role")} term={Get(p.Metadata.Annotations, "kuorum.io/term")}"));
                Assert.Fail($"the agents label their pods, but not as the truth ({truth.Leader} leads in term {truth.Term}): {seen}");
            }

            await Task.Delay(100);
        }
    }

    private async Task WithDiagnostics(Func<Task> test)
    {
        try
        {
            await test();
            Mark("done");
        }
        catch (Exception e)
        {
            var diagnostics = $"{e.Message}\n--- test log ---\n{string.Join('\n', _log)}\n--- operator log (last 150) ---\n{string.Join('\n', Fixture.Log.Lines.TakeLast(150))}\n--- agents ---\n{Kubelet.Diagnostics()}";
            throw new Xunit.Sdk.XunitException(diagnostics, e);
        }
        finally
        {
            foreach (var line in _log)
            {
                output.WriteLine(line);
            }
        }
    }

    private void Mark(string what) => Log($"[{_clock.Elapsed.TotalSeconds,6:0.0} s] {what}");

    private void Log(string line) => _log.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {line}");

    private static async Task<string> Tool(string tool, params string[] args)
    {
        var start = new ProcessStartInfo(PodNetworkEmulation.FindTool(tool) ?? tool) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var text = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return text;
    }

    private static string? Get(IDictionary<string, string>? map, string key) =>
        map is not null && map.TryGetValue(key, out var value) ? value : null;

    private sealed record Truth(string Leader, long Term, long LeaderId, Dictionary<string, StatusResponse> Agents);
}
