using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Kuorum.Operator.Reconciliation;
using Kuorum.Operator.Resources;
using Kuorum.Operator.Tls;

namespace Kuorum.Operator.Tests.Reconciliation;

/// <summary>The TLS modes end to end against the API server emulation (with a fake agent Admin).</summary>
public sealed class TlsReconcileTests : IAsyncLifetime
{
    private const string Ns = OperatorFixture.Namespace;
    private OperatorFixture _fixture = null!;

    public async Task InitializeAsync() => _fixture = await OperatorFixture.StartAsync();

    public async Task DisposeAsync() => await _fixture.DisposeAsync();

    private IKubernetes Client => _fixture.Client;

    [Fact]
    public async Task Auto_IsTheDefault_CreatesCaAndPeerSecrets_MountsThem_AndTheOperatorCallsWithThem()
    {
        var admin = new FakeAgentAdmin(3);
        await _fixture.StartOperatorAsync(admin);
        var cluster = await _fixture.CreateClusterAsync("demo", 3); // no spec.tls: the default, Auto
        await Eventually.TrueAsync(() => _fixture.ConditionIsAsync("demo", ConditionTypes.Ready, "True"), "the cluster to become Ready");

        var caSecret = await Client.CoreV1.ReadNamespacedSecretAsync("demo-ca", Ns);
        var peerSecret = await Client.CoreV1.ReadNamespacedSecretAsync("demo-tls", Ns);
        foreach (var secret in new[] { caSecret, peerSecret })
        {
            Assert.Equal("kubernetes.io/tls", secret.Type);
            var owner = Assert.Single(secret.Metadata.OwnerReferences);
            Assert.Equal(cluster.Metadata.Uid, owner.Uid);
            Assert.True(owner.Controller);
            Assert.Equal("kuorum-operator", secret.Metadata.Labels["app.kubernetes.io/managed-by"]);
        }

        Assert.Equal(["tls.crt", "tls.key"], caSecret.Data.Keys.Order());
        Assert.Equal(["ca.crt", "tls.crt", "tls.key"], peerSecret.Data.Keys.Order());
        Assert.Equal(caSecret.Data["tls.crt"], peerSecret.Data["ca.crt"]);
        using var ca = Certificate(caSecret, withKey: true);
        using var peer = Certificate(peerSecret, withKey: true);
        Assert.True(ca.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.InRange(ca.NotAfter - ca.NotBefore, TimeSpan.FromDays(3650), TimeSpan.FromDays(3650.01));
        Assert.InRange(peer.NotAfter - peer.NotBefore, TimeSpan.FromDays(365), TimeSpan.FromDays(365.01));
        Assert.True(Chains(peer, ca), "the peer certificate chains to the CA");
        string[] sans = ["*.demo-peers.apps.svc", "*.demo-peers.apps.svc.cluster.local", "*.demo-peers.apps", "*.demo-peers", "localhost"];
        Assert.Equal(sans.Order(StringComparer.Ordinal), TlsMaterial.AlternativeNames(peer).DnsNames.Order(StringComparer.Ordinal));
        Assert.Equal(["127.0.0.1"], TlsMaterial.AlternativeNames(peer).Addresses);
        Assert.Equal(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"],
            peer.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value));

        // The pods mount the peer Secret (never the CA's) read-only and the agent gets the three paths.
        var sts = (await _fixture.GetStatefulSetAsync("demo"))!;
        var pod = sts.Spec.Template.Spec;
        var volume = Assert.Single(pod.Volumes, v => v.Secret is not null);
        Assert.Equal("kuorum-tls", volume.Name);
        Assert.Equal("demo-tls", volume.Secret.SecretName);
        Assert.Equal(Convert.ToInt32("440", 8), volume.Secret.DefaultMode);
        Assert.Equal(["tls.crt", "tls.key", "ca.crt"], volume.Secret.Items.Select(i => i.Key));
        var agent = pod.InitContainers.Single(c => c.Name == "kuorum-agent");
        var mount = Assert.Single(agent.VolumeMounts, m => m.Name == "kuorum-tls");
        Assert.Equal("/etc/kuorum/tls", mount.MountPath);
        Assert.True(mount.ReadOnlyProperty);
        Assert.DoesNotContain(pod.Containers.Single().VolumeMounts, m => m.Name == "kuorum-tls");
        var config = await Client.CoreV1.ReadNamespacedConfigMapAsync("demo-config", Ns);
        Assert.Equal("/etc/kuorum/tls/tls.crt", config.Data["KUORUM_PEER_TLS_CERT"]);
        Assert.Equal("/etc/kuorum/tls/tls.key", config.Data["KUORUM_PEER_TLS_KEY"]);
        Assert.Equal("/etc/kuorum/tls/ca.crt", config.Data["KUORUM_PEER_TLS_CA"]);

        // The operator's Admin calls carry the peer certificate and expect the pod's DNS name.
        var endpoint = admin.LastStatusEndpoint!;
        Assert.NotNull(endpoint.Tls);
        Assert.Equal(peer.Thumbprint, endpoint.Tls!.Certificate.Thumbprint);
        Assert.True(endpoint.Tls.Certificate.HasPrivateKey);
        Assert.Equal(ca.Thumbprint, Assert.Single(endpoint.Tls.Authorities).Thumbprint);
        Assert.Equal($"{endpoint.PodName}.demo-peers.apps.svc.cluster.local", endpoint.ServerName);

        var events = await Client.CoreV1.ListNamespacedEventAsync(Ns);
        Assert.Contains(events.Items, e => e.InvolvedObject.Name == "demo" && e.Reason == "CertificateAuthorityCreated");
        Assert.Contains(events.Items, e => e.InvolvedObject.Name == "demo" && e.Reason == "CertificateIssued" && e.Message.Contains("demo-tls", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Auto_ReconcilingAgainWithNothingChanged_WritesNoSecret()
    {
        var admin = new FakeAgentAdmin(3);
        await _fixture.StartOperatorAsync(admin);
        await _fixture.CreateClusterAsync("same", 3, s => s.Tls = new TlsSpec { Mode = TlsModes.Auto });
        await Eventually.TrueAsync(() => _fixture.ConditionIsAsync("same", ConditionTypes.Ready, "True"), "the cluster to become Ready");
        await Task.Delay(500);
        var versions = await SecretVersions("same");
        var writes = SecretWrites();
        Assert.Equal(2, writes); // the CA and the peer Secret, each created once

        var calls = admin.StatusCalls;
        for (var i = 0; i < 3; i++)
        {
            await Touch("same", i);
        }

        await Eventually.TrueAsync(() => admin.StatusCalls >= calls + 3, "the operator to reconcile again");
        await Task.Delay(500);
        Assert.Equal(writes, SecretWrites());
        Assert.Equal(versions, await SecretVersions("same"));
    }

    [Fact]
    public async Task Auto_RenewsThePeerCertificateWhenAThirdOfItsLifeRemains_AndKeepsTheCa()
    {
        var clock = new ShiftedTimeProvider();
        var admin = new FakeAgentAdmin(3);
        await _fixture.StartOperatorAsync(admin, time: clock);
        await _fixture.CreateClusterAsync("renew", 3);
        await Eventually.TrueAsync(() => _fixture.ConditionIsAsync("renew", ConditionTypes.Ready, "True"), "the cluster to become Ready");
        var caBefore = await Client.CoreV1.ReadNamespacedSecretAsync("renew-ca", Ns);
        var peerBefore = await Client.CoreV1.ReadNamespacedSecretAsync("renew-tls", Ns);

        // 200 days in: two thirds of a year have not passed, nothing is renewed.
        clock.Offset = TimeSpan.FromDays(200);
        var calls = admin.StatusCalls;
        await Touch("renew", 1);
        await Eventually.TrueAsync(() => admin.StatusCalls >= calls + 3, "reconciles at day 200");
        Assert.Equal(peerBefore.Data["tls.crt"], (await Client.CoreV1.ReadNamespacedSecretAsync("renew-tls", Ns)).Data["tls.crt"]);

        // 250 days in: less than a third of the 365 days is left; the peer certificate is reissued by the same CA.
        clock.Offset = TimeSpan.FromDays(250);
        await Touch("renew", 2);
        await Eventually.TrueAsync(async () =>
            !(await Client.CoreV1.ReadNamespacedSecretAsync("renew-tls", Ns)).Data["tls.crt"].SequenceEqual(peerBefore.Data["tls.crt"]),
            "the peer certificate to be renewed");

        var caAfter = await Client.CoreV1.ReadNamespacedSecretAsync("renew-ca", Ns);
        Assert.Equal(caBefore.Data["tls.crt"], caAfter.Data["tls.crt"]);
        Assert.Equal(caBefore.Data["tls.key"], caAfter.Data["tls.key"]);
        Assert.Equal(caBefore.Metadata.ResourceVersion, caAfter.Metadata.ResourceVersion);
        var peerAfter = await Client.CoreV1.ReadNamespacedSecretAsync("renew-tls", Ns);
        using var ca = Certificate(caAfter, withKey: false);
        using var renewed = Certificate(peerAfter, withKey: true);
        using var old = Certificate(peerBefore, withKey: false);
        Assert.Equal(caAfter.Data["tls.crt"], peerAfter.Data["ca.crt"]);
        Assert.True(Chains(renewed, ca, clock.GetUtcNow()), "the renewed certificate chains to the same CA");
        Assert.InRange(renewed.NotBefore.ToUniversalTime(), old.NotBefore.ToUniversalTime().AddDays(249), old.NotBefore.ToUniversalTime().AddDays(251));
        Assert.NotEqual(old.GetPublicKeyString(), renewed.GetPublicKeyString()); // a new key, not just new dates

        var events = await Client.CoreV1.ListNamespacedEventAsync(Ns);
        Assert.Contains(events.Items, e => e.InvolvedObject.Name == "renew" && e.Reason == "CertificateRenewed" && e.Message.Contains("third of its life", StringComparison.Ordinal));
        await Eventually.TrueAsync(() => admin.LastStatusEndpoint?.Tls?.Certificate.Thumbprint == renewed.Thumbprint, "the operator to call with the renewed certificate");
        Assert.Equal("True", OperatorFixture.Condition(await _fixture.GetClusterAsync("renew"), ConditionTypes.Ready));
    }

    [Fact]
    public async Task Auto_DeletedSecretsAreRecreated_ThePeerWithTheSameCa_TheCaOnlyWhenItIsGone()
    {
        await _fixture.StartOperatorAsync(new FakeAgentAdmin(3));
        await _fixture.CreateClusterAsync("heal", 3);
        await Eventually.TrueAsync(() => _fixture.ConditionIsAsync("heal", ConditionTypes.Ready, "True"), "the cluster to become Ready");
        var ca = await Client.CoreV1.ReadNamespacedSecretAsync("heal-ca", Ns);
        var peer = await Client.CoreV1.ReadNamespacedSecretAsync("heal-tls", Ns);

        await Client.CoreV1.DeleteNamespacedSecretAsync("heal-tls", Ns);
        var recreated = await EventuallySecret("heal-tls", s => !s.Data["tls.crt"].SequenceEqual(peer.Data["tls.crt"]));
        Assert.Equal(ca.Data["tls.crt"], recreated.Data["ca.crt"]);
        Assert.Equal(ca.Data["tls.crt"], (await Client.CoreV1.ReadNamespacedSecretAsync("heal-ca", Ns)).Data["tls.crt"]);

        // A peer Secret someone spoiled is reissued too.
        recreated.Data["tls.key"] = Encoding.UTF8.GetBytes("not a key");
        await Client.CoreV1.ReplaceNamespacedSecretAsync(recreated, "heal-tls", Ns);
        var repaired = await EventuallySecret("heal-tls", s => s.Data["tls.key"].Length > 100);
        using (var material = Certificate(repaired, withKey: true))
        {
            Assert.True(Chains(material, Certificate(ca, withKey: false)));
        }

        // Without its CA the cluster gets a new one, and a peer certificate from it.
        await Client.CoreV1.DeleteNamespacedSecretAsync("heal-ca", Ns);
        var newCa = await EventuallySecret("heal-ca", s => !s.Data["tls.crt"].SequenceEqual(ca.Data["tls.crt"]));
        var newPeer = await EventuallySecret("heal-tls", s => s.Data["ca.crt"].SequenceEqual(newCa.Data["tls.crt"]));
        Assert.True(Chains(Certificate(newPeer, withKey: true), Certificate(newCa, withKey: false)));
    }

    [Fact]
    public async Task Auto_AValidCaTheCacheDoesNotKnow_IsKeptWhenItsCreateConflicts()
    {
        // The cluster's CA exists but without the operator's label, so its informer does not see it: the operator's
        // create meets 409 Conflict, it reads the Secret, finds a valid CA of this cluster and keeps it.
        var cluster = await _fixture.CreateClusterAsync("adopt", 3);
        var caPem = CertificateIssuer.IssueCa("kept CA", DateTimeOffset.UtcNow);
        await Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta
            {
                Name = "adopt-ca",
                NamespaceProperty = Ns,
                OwnerReferences = [DesiredObjects.OwnerReference(cluster)],
            },
            Type = "kubernetes.io/tls",
            Data = new Dictionary<string, byte[]>
            {
                ["tls.crt"] = Encoding.UTF8.GetBytes(caPem.CertificatePem),
                ["tls.key"] = Encoding.UTF8.GetBytes(caPem.PrivateKeyPem),
            },
        }, Ns);

        await _fixture.StartOperatorAsync(new FakeAgentAdmin(3));
        await Eventually.TrueAsync(() => _fixture.ConditionIsAsync("adopt", ConditionTypes.Ready, "True"), "the cluster to become Ready");

        var ca = await Client.CoreV1.ReadNamespacedSecretAsync("adopt-ca", Ns);
        Assert.Equal(caPem.CertificatePem, Encoding.UTF8.GetString(ca.Data["tls.crt"]));
        Assert.Equal(caPem.PrivateKeyPem, Encoding.UTF8.GetString(ca.Data["tls.key"]));
        Assert.Equal("kuorum-operator", ca.Metadata.Labels["app.kubernetes.io/managed-by"]); // relabelled, content kept
        Assert.Contains(_fixture.Api.Requests, r => r.Method == "POST" && r.Path.EndsWith("/secrets", StringComparison.Ordinal) && r.Status == 409);
        var peer = await Client.CoreV1.ReadNamespacedSecretAsync("adopt-tls", Ns);
        Assert.Equal(ca.Data["tls.crt"], peer.Data["ca.crt"]);
        Assert.True(Chains(Certificate(peer, withKey: true), Certificate(ca, withKey: false)));
        var events = await Client.CoreV1.ListNamespacedEventAsync(Ns);
        Assert.DoesNotContain(events.Items, e => e.InvolvedObject.Name == "adopt" && e.Reason.StartsWith("CertificateAuthority", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Secret_MissingThenIncomplete_IsDegradedSayingWhy_ThenRunsWhenTheSecretIsRight()
    {
        var admin = new FakeAgentAdmin(3);
        await _fixture.StartOperatorAsync(admin);
        await _fixture.CreateClusterAsync("byo", 3, s => s.Tls = new TlsSpec { Mode = TlsModes.Secret, SecretName = "byo-peer" });

        var missing = await DegradedMessage("byo", "not found");
        Assert.Contains("spec.tls.secretName: Secret apps/byo-peer not found", missing, StringComparison.Ordinal);
        Assert.Null(await _fixture.GetStatefulSetAsync("byo")); // nothing runs on a certificate that does not exist
        Assert.Equal("InvalidTLSSecret", (await _fixture.GetClusterAsync("byo")).Status!.Conditions!.Single(c => c.Type == ConditionTypes.Degraded).Reason);
        Assert.Equal("Degraded", (await _fixture.GetClusterAsync("byo")).Status!.Phase);

        var caPem = CertificateIssuer.IssueCa("byo CA", DateTimeOffset.UtcNow);
        using var ca = X509Certificate2.CreateFromPem(caPem.CertificatePem, caPem.PrivateKeyPem);
        var names = new ClusterNames(await _fixture.GetClusterAsync("byo"));
        var peerPem = CertificateIssuer.IssuePeer(ca, "byo", names.PeerDnsNames, [], DateTimeOffset.UtcNow);
        var secret = new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "byo-peer", NamespaceProperty = Ns },
            Type = "kubernetes.io/tls",
            Data = new Dictionary<string, byte[]>
            {
                ["tls.crt"] = Encoding.UTF8.GetBytes(peerPem.CertificatePem),
                ["tls.key"] = Encoding.UTF8.GetBytes(peerPem.PrivateKeyPem),
            },
        };
        secret = await Client.CoreV1.CreateNamespacedSecretAsync(secret, Ns);
        var incomplete = await DegradedMessage("byo", "no ca.crt");
        Assert.Contains("Secret apps/byo-peer: it has no ca.crt", incomplete, StringComparison.Ordinal);

        secret.Data["ca.crt"] = Encoding.UTF8.GetBytes(caPem.CertificatePem);
        await Client.CoreV1.ReplaceNamespacedSecretAsync(secret, "byo-peer", Ns);
        await Eventually.TrueAsync(() => _fixture.ConditionIsAsync("byo", ConditionTypes.Ready, "True"), "the cluster to run once the Secret is right");

        var sts = (await _fixture.GetStatefulSetAsync("byo"))!;
        Assert.Equal("byo-peer", sts.Spec.Template.Spec.Volumes.Single(v => v.Name == "kuorum-tls").Secret.SecretName);
        Assert.Equal("/etc/kuorum/tls/ca.crt", (await Client.CoreV1.ReadNamespacedConfigMapAsync("byo-config", Ns)).Data["KUORUM_PEER_TLS_CA"]);
        Assert.Equal("False", OperatorFixture.Condition(await _fixture.GetClusterAsync("byo"), ConditionTypes.Degraded));
        using var peer = X509Certificate2.CreateFromPem(peerPem.CertificatePem);
        Assert.Equal(peer.Thumbprint, admin.LastStatusEndpoint!.Tls!.Certificate.Thumbprint);
        // The operator neither issues certificates nor writes Secrets in mode Secret.
        Assert.Equal(0, SecretWrites());
        Assert.Equal(["byo-peer"], (await Client.CoreV1.ListNamespacedSecretAsync(Ns)).Items.Select(s => s.Metadata.Name));
    }

    [Fact]
    public async Task Secret_WhoseCertificateDoesNotNameThePods_IsDegradedSayingWhichName()
    {
        await _fixture.StartOperatorAsync(new FakeAgentAdmin(3));
        var caPem = CertificateIssuer.IssueCa("CA", DateTimeOffset.UtcNow);
        using var ca = X509Certificate2.CreateFromPem(caPem.CertificatePem, caPem.PrivateKeyPem);
        var peerPem = CertificateIssuer.IssuePeer(ca, "wrong", ["*.wrong-peers.apps.svc.cluster.local"], [], DateTimeOffset.UtcNow);
        await Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "wrong-names", NamespaceProperty = Ns },
            Type = "kubernetes.io/tls",
            Data = new Dictionary<string, byte[]>
            {
                ["tls.crt"] = Encoding.UTF8.GetBytes(peerPem.CertificatePem),
                ["tls.key"] = Encoding.UTF8.GetBytes(peerPem.PrivateKeyPem),
                ["ca.crt"] = Encoding.UTF8.GetBytes(caPem.CertificatePem),
            },
        }, Ns);
        await _fixture.CreateClusterAsync("named", 3, s => s.Tls = new TlsSpec { Mode = TlsModes.Secret, SecretName = "wrong-names" });

        var message = await DegradedMessage("named", "does not name");
        Assert.Contains("does not name named-0.named-peers.apps.svc.cluster.local", message, StringComparison.Ordinal);
        Assert.Contains("add the DNS name *.named-peers.apps.svc.cluster.local", message, StringComparison.Ordinal);
        Assert.Null(await _fixture.GetStatefulSetAsync("named"));
    }

    [Fact]
    public async Task Secret_WithoutSecretName_IsAnInvalidSpec()
    {
        await _fixture.StartOperatorAsync(new FakeAgentAdmin(3));
        await _fixture.CreateClusterAsync("nameless", 3, s => s.Tls = new TlsSpec { Mode = TlsModes.Secret });
        var message = await DegradedMessage("nameless", "secretName");
        Assert.Contains("spec.tls.secretName is required when spec.tls.mode is Secret", message, StringComparison.Ordinal);
        Assert.Equal("InvalidSpec", (await _fixture.GetClusterAsync("nameless")).Status!.Conditions!.Single(c => c.Type == ConditionTypes.Degraded).Reason);
    }

    [Fact]
    public async Task Disabled_HasNoSecretsNoVolumeNoSettings_AndPlainAdminCalls()
    {
        var admin = new FakeAgentAdmin(3);
        await _fixture.StartOperatorAsync(admin);
        await _fixture.CreateClusterAsync("plain", 3, s => s.Tls = new TlsSpec { Mode = TlsModes.Disabled });
        await Eventually.TrueAsync(() => _fixture.ConditionIsAsync("plain", ConditionTypes.Ready, "True"), "the cluster to become Ready");

        Assert.Empty((await Client.CoreV1.ListNamespacedSecretAsync(Ns)).Items);
        var pod = (await _fixture.GetStatefulSetAsync("plain"))!.Spec.Template.Spec;
        Assert.DoesNotContain(pod.Volumes, v => v.Name == "kuorum-tls" || v.Secret is not null);
        Assert.DoesNotContain(pod.InitContainers.Single().VolumeMounts, m => m.Name == "kuorum-tls");
        var config = await Client.CoreV1.ReadNamespacedConfigMapAsync("plain-config", Ns);
        Assert.DoesNotContain(config.Data.Keys, k => k.StartsWith("KUORUM_PEER_TLS", StringComparison.Ordinal));
        Assert.Null(admin.LastStatusEndpoint!.Tls);
        Assert.Null(admin.LastStatusEndpoint.ServerName);
    }

    [Fact]
    public async Task ChangingTheMode_ChangesThePodTemplate()
    {
        await _fixture.StartOperatorAsync(new FakeAgentAdmin(3));
        await _fixture.CreateClusterAsync("switch", 3, s => s.Tls = new TlsSpec { Mode = TlsModes.Disabled });
        await Eventually.TrueAsync(() => _fixture.ConditionIsAsync("switch", ConditionTypes.Ready, "True"), "the cluster to become Ready");
        var before = (await _fixture.GetStatefulSetAsync("switch"))!.Spec.Template.Metadata.Annotations["kuorum.io/config-hash"];

        var patch = new V1Patch("{\"spec\":{\"tls\":{\"mode\":\"Auto\"}}}", V1Patch.PatchType.MergePatch);
        await Client.CustomObjects.PatchNamespacedCustomObjectAsync(patch, ConsensusCluster.ApiGroup, ConsensusCluster.ApiVersionName, Ns, ConsensusCluster.Plural, "switch");
        await Eventually.TrueAsync(async () =>
            (await _fixture.GetStatefulSetAsync("switch"))!.Spec.Template.Spec.Volumes.Any(v => v.Secret?.SecretName == "switch-tls"),
            "the pods to mount the TLS Secret");
        var after = (await _fixture.GetStatefulSetAsync("switch"))!.Spec.Template.Metadata.Annotations["kuorum.io/config-hash"];
        Assert.NotEqual(before, after); // the pods roll onto TLS
        await Client.CoreV1.ReadNamespacedSecretAsync("switch-tls", Ns);
    }

    private async Task<string> DegradedMessage(string cluster, string containing)
    {
        string? message = null;
        await Eventually.TrueAsync(async () =>
        {
            var c = await _fixture.GetClusterAsync(cluster);
            var degraded = c.Status?.Conditions?.FirstOrDefault(x => x.Type == ConditionTypes.Degraded);
            message = degraded?.Message;
            return degraded?.Status == "True" && message?.Contains(containing, StringComparison.Ordinal) == true;
        }, $"Degraded saying '{containing}'");
        return message!;
    }

    private async Task<V1Secret> EventuallySecret(string name, Func<V1Secret, bool> condition)
    {
        V1Secret? found = null;
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                found = await Client.CoreV1.ReadNamespacedSecretAsync(name, Ns);
                return condition(found);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
                return false;
            }
        }, $"Secret {name}");
        return found!;
    }

    private async Task<string> SecretVersions(string cluster) =>
        string.Join(",", (await Client.CoreV1.ListNamespacedSecretAsync(Ns)).Items
            .Where(s => s.Metadata.Name.StartsWith(cluster + "-", StringComparison.Ordinal))
            .OrderBy(s => s.Metadata.Name)
            .Select(s => $"{s.Metadata.Name}@{s.Metadata.ResourceVersion}"));

    private int SecretWrites() =>
        _fixture.Api.Requests.Count(r => r.UserAgent.StartsWith("operator", StringComparison.Ordinal) && r.IsWrite && r.Path.Contains("/secrets", StringComparison.Ordinal));

    private Task Touch(string cluster, int i)
    {
        var patch = new V1Patch("{\"metadata\":{\"annotations\":{\"test/touch\":\"" + i + "\"}}}", V1Patch.PatchType.MergePatch);
        return Client.CustomObjects.PatchNamespacedCustomObjectAsync(patch, ConsensusCluster.ApiGroup, ConsensusCluster.ApiVersionName, Ns, ConsensusCluster.Plural, cluster);
    }

    private static X509Certificate2 Certificate(V1Secret secret, bool withKey) => withKey
        ? X509Certificate2.CreateFromPem(Encoding.UTF8.GetString(secret.Data["tls.crt"]), Encoding.UTF8.GetString(secret.Data["tls.key"]))
        : X509Certificate2.CreateFromPem(Encoding.UTF8.GetString(secret.Data["tls.crt"]));

    private static bool Chains(X509Certificate2 leaf, X509Certificate2 ca, DateTimeOffset? at = null)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (at is { } time)
        {
            chain.ChainPolicy.VerificationTime = time.UtcDateTime;
        }

        return chain.Build(leaf);
    }
}
