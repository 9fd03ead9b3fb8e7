using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Kuorum.Operator.Reconciliation;
using Kuorum.Operator.Resources;
using Kuorum.Operator.Tls;
using k8s.Models;

namespace Kuorum.Operator.Tests.Tls;

/// <summary>The certificates of TLS mode Auto and the checks of a TLS Secret's contents, without an API server.</summary>
public sealed class CertificateTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly ClusterNames Names = new(new ConsensusCluster { Metadata = new V1ObjectMeta { Name = "demo", NamespaceProperty = "apps" } });
    private const string Pod0 = "demo-0.demo-peers.apps.svc.cluster.local";

    [Fact]
    public void Ca_IsASelfSignedP256CaForTenYears()
    {
        var pem = CertificateIssuer.IssueCa("kuorum CA apps/demo", Now);
        using var ca = X509Certificate2.CreateFromPem(pem.CertificatePem, pem.PrivateKeyPem);

        Assert.Equal(ca.SubjectName.Name, ca.IssuerName.Name);
        Assert.Contains("CN=kuorum CA apps/demo", ca.Subject, StringComparison.Ordinal);
        var constraints = ca.Extensions.OfType<X509BasicConstraintsExtension>().Single();
        Assert.True(constraints.CertificateAuthority);
        Assert.True(constraints.Critical);
        var usage = ca.Extensions.OfType<X509KeyUsageExtension>().Single();
        Assert.True(usage.KeyUsages.HasFlag(X509KeyUsageFlags.KeyCertSign));
        using var key = ca.GetECDsaPublicKey()!;
        Assert.Equal(256, key.KeySize);
        Assert.Equal("1.2.840.10045.3.1.7", key.ExportParameters(false).Curve.Oid.Value); // nistP256
        Assert.Equal(Now - CertificateIssuer.Backdate, ca.NotBefore.ToUniversalTime());
        Assert.Equal(Now + TimeSpan.FromDays(3650), ca.NotAfter.ToUniversalTime());
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", pem.PrivateKeyPem, StringComparison.Ordinal); // PKCS#8
        Assert.Null(ClusterTls.CaProblem(Data(pem), Now));
    }

    [Fact]
    public void Peer_ChainsToTheCa_WithServerAndClientAuth_AndExactlyTheClusterNames()
    {
        var (caPem, ca) = Ca();
        var pem = CertificateIssuer.IssuePeer(ca, "demo-peers.apps.svc", Names.PeerDnsNames, [IPAddress.Loopback], Now);
        using var peer = X509Certificate2.CreateFromPem(pem.CertificatePem, pem.PrivateKeyPem);

        Assert.Equal(ca.SubjectName.Name, peer.IssuerName.Name);
        Assert.False(peer.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        var usages = peer.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value).ToList();
        Assert.Equal(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"], usages);
        var (dns, addresses) = TlsMaterial.AlternativeNames(peer);
        Assert.Equal(
            ["*.demo-peers.apps.svc", "*.demo-peers.apps.svc.cluster.local", "*.demo-peers.apps", "*.demo-peers", "localhost"],
            dns);
        Assert.Equal(["127.0.0.1"], addresses);
        Assert.Equal(256, peer.GetECDsaPublicKey()!.KeySize);
        Assert.Equal(Now + TimeSpan.FromDays(365), peer.NotAfter.ToUniversalTime());
        Assert.True(peer.MatchesHostname(Pod0, allowWildcards: true, allowCommonName: false));
        Assert.True(peer.MatchesHostname("demo-4.demo-peers.apps.svc", allowWildcards: true, allowCommonName: false));
        Assert.False(peer.MatchesHostname("demo-0.other-peers.apps.svc.cluster.local", allowWildcards: true, allowCommonName: false));

        var material = Parse(pem, caPem);
        Assert.Empty(material.Check(Pod0, Now));
        Assert.Null(ClusterTls.PeerProblem(Data(pem, caPem), Encoding.UTF8.GetBytes(caPem.CertificatePem), Names, Now));
    }

    [Fact]
    public async Task Peer_IsAcceptedByOpenSsl_AsServerAndClientForThePodNames()
    {
        var openssl = new[] { "/usr/bin/openssl", "/usr/local/bin/openssl" }.FirstOrDefault(File.Exists);
        Assert.True(openssl is not null, "openssl is needed for this independent check (apt-get install openssl)");
        var (caPem, ca) = Ca(DateTimeOffset.UtcNow);
        var pem = CertificateIssuer.IssuePeer(ca, "demo-peers.apps.svc", Names.PeerDnsNames, [IPAddress.Loopback], DateTimeOffset.UtcNow);
        var directory = Directory.CreateTempSubdirectory("kuorum-tls-");
        try
        {
            var caFile = Path.Combine(directory.FullName, "ca.crt");
            var peerFile = Path.Combine(directory.FullName, "tls.crt");
            await File.WriteAllTextAsync(caFile, caPem.CertificatePem);
            await File.WriteAllTextAsync(peerFile, pem.CertificatePem);
            foreach (var purpose in new[] { "sslserver", "sslclient" })
            {
                // (OpenSSL ignores a wildcard with a single label after it, so *.demo-peers names nothing for it; the agents
                // dial the fully qualified name.)
                foreach (var host in new[] { Pod0, "demo-2.demo-peers.apps.svc", "demo-1.demo-peers.apps" })
                {
                    var (code, output) = await Run(openssl!, "verify", "-CAfile", caFile, "-purpose", purpose, "-verify_hostname", host, peerFile);
                    Assert.True(code == 0, $"openssl verify -purpose {purpose} -verify_hostname {host}: {output}");
                }
            }

            var (ipCode, ipOutput) = await Run(openssl!, "verify", "-CAfile", caFile, "-purpose", "sslserver", "-verify_ip", "127.0.0.1", peerFile);
            Assert.True(ipCode == 0, ipOutput);
            var (wrongCode, _) = await Run(openssl!, "verify", "-CAfile", caFile, "-verify_hostname", "demo-0.elsewhere.apps.svc.cluster.local", peerFile);
            Assert.NotEqual(0, wrongCode);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void Peer_NeverOutlivesItsCa()
    {
        var caPem = CertificateIssuer.IssueCa("short", Now - TimeSpan.FromDays(3600));
        using var ca = X509Certificate2.CreateFromPem(caPem.CertificatePem, caPem.PrivateKeyPem);
        var pem = CertificateIssuer.IssuePeer(ca, "x", Names.PeerDnsNames, [], Now);
        using var peer = X509Certificate2.CreateFromPem(pem.CertificatePem);
        Assert.Equal(ca.NotAfter, peer.NotAfter);
    }

    [Fact]
    public void Peer_NeverStartsBeforeItsCa()
    {
        // A CA written by an operator whose clock ran an hour ahead.
        var caPem = CertificateIssuer.IssueCa("ahead", Now + TimeSpan.FromHours(1));
        using var ca = X509Certificate2.CreateFromPem(caPem.CertificatePem, caPem.PrivateKeyPem);
        var pem = CertificateIssuer.IssuePeer(ca, "x", Names.PeerDnsNames, [], Now);
        using var peer = X509Certificate2.CreateFromPem(pem.CertificatePem);
        Assert.Equal(ca.NotBefore, peer.NotBefore);
    }

    [Fact]
    public void RenewalDue_OnceLessThanAThirdOfTheLifeRemains()
    {
        var (_, ca) = Ca();
        var pem = CertificateIssuer.IssuePeer(ca, "x", Names.PeerDnsNames, [], Now);
        using var peer = X509Certificate2.CreateFromPem(pem.CertificatePem);
        var life = peer.NotAfter - peer.NotBefore; // 365 days and the 5 minutes of backdating
        var renewAt = new DateTimeOffset(peer.NotAfter.ToUniversalTime(), TimeSpan.Zero) - (life / 3);

        Assert.Equal(renewAt, CertificateIssuer.RenewalTime(peer));
        Assert.False(CertificateIssuer.RenewalDue(peer, Now));
        Assert.False(CertificateIssuer.RenewalDue(peer, renewAt - TimeSpan.FromMinutes(1)));
        Assert.True(CertificateIssuer.RenewalDue(peer, renewAt + TimeSpan.FromMinutes(1)));
        Assert.True(CertificateIssuer.RenewalDue(peer, Now + TimeSpan.FromDays(250)));
        Assert.False(CertificateIssuer.RenewalDue(peer, Now + TimeSpan.FromDays(240)));
    }

    [Fact]
    public void CaProblem_OnlyWhenMissingOrInvalid()
    {
        var pem = CertificateIssuer.IssueCa("ca", Now);
        Assert.Null(ClusterTls.CaProblem(Data(pem), Now + TimeSpan.FromDays(3000)));
        Assert.Contains("expired", ClusterTls.CaProblem(Data(pem), Now + TimeSpan.FromDays(3651)), StringComparison.Ordinal);
        Assert.NotNull(ClusterTls.CaProblem(new Dictionary<string, byte[]> { ["tls.crt"] = Encoding.UTF8.GetBytes(pem.CertificatePem) }, Now));
        var other = CertificateIssuer.IssueCa("other", Now);
        Assert.Contains("did not match", ClusterTls.CaProblem(Data(pem with { PrivateKeyPem = other.PrivateKeyPem }), Now), StringComparison.Ordinal);

        var (_, ca) = Ca();
        var leaf = CertificateIssuer.IssuePeer(ca, "leaf", ["x"], [], Now);
        Assert.Contains("not a CA", ClusterTls.CaProblem(Data(leaf), Now), StringComparison.Ordinal);
    }

    [Fact]
    public void PeerProblem_WhenSignedByAnotherCa_NamesWrong_OrDue()
    {
        var (caPem, ca) = Ca();
        var caBytes = Encoding.UTF8.GetBytes(caPem.CertificatePem);
        var good = CertificateIssuer.IssuePeer(ca, "x", Names.PeerDnsNames, [IPAddress.Loopback], Now);
        Assert.Null(ClusterTls.PeerProblem(Data(good, caPem), caBytes, Names, Now));

        var (otherCaPem, otherCa) = Ca();
        var foreign = CertificateIssuer.IssuePeer(otherCa, "x", Names.PeerDnsNames, [IPAddress.Loopback], Now);
        Assert.Contains("not the cluster CA", ClusterTls.PeerProblem(Data(foreign, otherCaPem), caBytes, Names, Now), StringComparison.Ordinal);

        var fewerNames = CertificateIssuer.IssuePeer(ca, "x", Names.PeerDnsNames.Take(2), [IPAddress.Loopback], Now);
        Assert.Contains("subject alternative names", ClusterTls.PeerProblem(Data(fewerNames, caPem), caBytes, Names, Now), StringComparison.Ordinal);

        Assert.Contains("third of its life", ClusterTls.PeerProblem(Data(good, caPem), caBytes, Names, Now + TimeSpan.FromDays(250)), StringComparison.Ordinal);
        Assert.Contains("expired", ClusterTls.PeerProblem(Data(good, caPem), caBytes, Names, Now + TimeSpan.FromDays(400)), StringComparison.Ordinal);
    }

    [Fact]
    public void Material_ProblemsSayWhatIsWrong()
    {
        var (caPem, ca) = Ca();
        var peer = CertificateIssuer.IssuePeer(ca, "x", Names.PeerDnsNames, [], Now);

        var problems = new List<string>();
        Assert.Null(TlsMaterial.Parse(new Dictionary<string, byte[]> { ["tls.crt"] = Encoding.UTF8.GetBytes(peer.CertificatePem) }, problems));
        Assert.Equal(["it has no tls.key, no ca.crt (a kubernetes.io/tls Secret with tls.crt, tls.key, ca.crt is needed)"], problems);

        problems.Clear();
        var otherKey = CertificateIssuer.IssueCa("k", Now).PrivateKeyPem;
        Assert.Null(TlsMaterial.Parse(Data(peer with { PrivateKeyPem = otherKey }, caPem), problems));
        Assert.Contains("is not the private key of the first certificate", Assert.Single(problems), StringComparison.Ordinal);

        problems.Clear();
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            var encrypted = key.ExportEncryptedPkcs8PrivateKeyPem("pw", new PbeParameters(PbeEncryptionAlgorithm.Aes128Cbc, HashAlgorithmName.SHA256, 1000));
            Assert.Null(TlsMaterial.Parse(Data(peer with { PrivateKeyPem = encrypted }, caPem), problems));
            Assert.Contains("encrypted", Assert.Single(problems), StringComparison.Ordinal);
        }

        // An EC (SEC 1) key, as cert-manager writes by default, is read like PKCS#8.
        problems.Clear();
        using (var key = ECDsa.Create())
        {
            key.ImportFromPem(peer.PrivateKeyPem);
            Assert.NotNull(TlsMaterial.Parse(Data(peer with { PrivateKeyPem = key.ExportECPrivateKeyPem() }, caPem), problems));
            Assert.Empty(problems);
        }

        var (otherCaPem, _) = Ca();
        var foreign = Parse(peer, otherCaPem);
        Assert.Contains(foreign.Check(Pod0, Now), p => p.Contains("does not chain to a CA in ca.crt", StringComparison.Ordinal));

        var serverOnly = CertificateWithUsages(ca, [new Oid("1.3.6.1.5.5.7.3.1")]);
        Assert.Contains(Parse(serverOnly, caPem).Check(Pod0, Now), p => p.Contains("does not allow client auth", StringComparison.Ordinal));

        var elsewhere = CertificateIssuer.IssuePeer(ca, "x", ["*.other.apps.svc.cluster.local"], [], Now);
        Assert.Contains(Parse(elsewhere, caPem).Check(Pod0, Now),
            p => p.Contains($"does not name {Pod0}", StringComparison.Ordinal) && p.Contains("add the DNS name *.demo-peers.apps.svc.cluster.local", StringComparison.Ordinal));

        Assert.Contains(Parse(peer, caPem).Check(Pod0, Now + TimeSpan.FromDays(366)), p => p.Contains("expired on", StringComparison.Ordinal));
    }

    private static (PemPair Pem, X509Certificate2 Ca) Ca(DateTimeOffset? at = null)
    {
        var pem = CertificateIssuer.IssueCa("test CA", at ?? Now);
        return (pem, X509Certificate2.CreateFromPem(pem.CertificatePem, pem.PrivateKeyPem));
    }

    private static TlsMaterial Parse(PemPair peer, PemPair ca)
    {
        var problems = new List<string>();
        var material = TlsMaterial.Parse(Data(peer, ca), problems);
        Assert.Empty(problems);
        return material!;
    }

    private static Dictionary<string, byte[]> Data(PemPair pair, PemPair? ca = null)
    {
        var data = new Dictionary<string, byte[]>
        {
            ["tls.crt"] = Encoding.UTF8.GetBytes(pair.CertificatePem),
            ["tls.key"] = Encoding.UTF8.GetBytes(pair.PrivateKeyPem),
        };
        if (ca is not null)
        {
            data["ca.crt"] = Encoding.UTF8.GetBytes(ca.CertificatePem);
        }

        return data;
    }

    private static PemPair CertificateWithUsages(X509Certificate2 ca, Oid[] usages)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=server-only", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([.. usages], false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("*.demo-peers.apps.svc.cluster.local");
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.Create(ca, Now - TimeSpan.FromMinutes(1), Now + TimeSpan.FromDays(30), [1, 2, 3, 4]);
        return new PemPair(certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    private static async Task<(int Code, string Output)> Run(string tool, params string[] args)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, output);
    }
}
