using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Kuorum.Agent.Configuration;
using Kuorum.Agent.Security;
using Kuorum.Demo;

namespace Kuorum.Agent.Tests;

/// <summary>
/// The three <c>--peer-tls-*</c> settings and the loader of their files (<see cref="PeerCertificates"/>), in process:
/// all three or none, and every bad file refused with a message naming the setting and what is wrong; reloading changed
/// files; the host-name rule the client side applies.
/// </summary>
public sealed class PeerTlsOptionsTests : IDisposable
{
    private static readonly Dictionary<string, string> _noEnvironment = [];
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "kuorum-tls-" + Guid.NewGuid().ToString("N"));
    private readonly LocalCertificateAuthority _ca;

    public PeerTlsOptionsTests()
    {
        _ca = LocalCertificateAuthority.Create(Path.Combine(_directory, "ca"));
    }

    public void Dispose()
    {
        _ca.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private static AgentOptions Parse(params string[] args) => AgentOptions.Parse(["--node-id", "1", "--peers", "1=127.0.0.1:7400", .. args], _noEnvironment);

    // Writes a certificate and key as plain files; returns the settings naming them and the CA.
    private PeerTlsSettings Files(X509Certificate2 certificate, string? keyPem = null, string? caFile = null, string name = "agent")
    {
        var certificateFile = Path.Combine(_directory, name + ".crt");
        var keyFile = Path.Combine(_directory, name + ".key");
        File.WriteAllText(certificateFile, certificate.ExportCertificatePem() + "\n");
        File.WriteAllText(keyFile, (keyPem ?? LocalCertificateAuthority.PrivateKeyPem(certificate)) + "\n");
        return new PeerTlsSettings(certificateFile, keyFile, caFile ?? _ca.CaFile);
    }

    private static string Refusal(PeerTlsSettings settings) => Assert.Throws<OptionsException>(() => PeerCertificates.Load(settings)).Message;

    [Fact]
    public void NoTlsSetting_MeansPlaintext_AndAllThree_NameTheFiles()
    {
        Assert.Null(Parse().PeerTls);
        var options = Parse("--peer-tls-cert", "/tls/tls.crt", "--peer-tls-key", "/tls/tls.key", "--peer-tls-ca", "/tls/ca.crt");
        Assert.Equal(new PeerTlsSettings("/tls/tls.crt", "/tls/tls.key", "/tls/ca.crt"), options.PeerTls);

        var fromEnvironment = AgentOptions.Parse(["--node-id", "1", "--peers", "1=a:1"], new Dictionary<string, string>
        {
            ["KUORUM_PEER_TLS_CERT"] = "/e/tls.crt",
            ["KUORUM_PEER_TLS_KEY"] = "/e/tls.key",
            ["KUORUM_PEER_TLS_CA"] = "/e/ca.crt",
        });
        Assert.Equal(new PeerTlsSettings("/e/tls.crt", "/e/tls.key", "/e/ca.crt", "KUORUM_PEER_TLS_CERT", "KUORUM_PEER_TLS_KEY", "KUORUM_PEER_TLS_CA"), fromEnvironment.PeerTls);
        Assert.Contains(AgentOptions.Settings, s => s is ("peer-tls-cert", "KUORUM_PEER_TLS_CERT", _));
        Assert.Contains(AgentOptions.Settings, s => s is ("peer-tls-key", "KUORUM_PEER_TLS_KEY", _));
        Assert.Contains(AgentOptions.Settings, s => s is ("peer-tls-ca", "KUORUM_PEER_TLS_CA", _));
    }

    [Theory]
    [InlineData("--peer-tls-cert a.crt", "--peer-tls-cert given without --peer-tls-key (KUORUM_PEER_TLS_KEY) and --peer-tls-ca (KUORUM_PEER_TLS_CA)")]
    [InlineData("--peer-tls-cert a.crt --peer-tls-key a.key", "--peer-tls-cert and --peer-tls-key given without --peer-tls-ca (KUORUM_PEER_TLS_CA)")]
    [InlineData("--peer-tls-ca ca.crt", "--peer-tls-ca given without --peer-tls-cert")]
    [InlineData("--peer-tls-cert= --peer-tls-key a.key --peer-tls-ca ca.crt", "--peer-tls-cert is empty; give the path of a PEM file")]
    public void TlsSettings_AreAllThreeOrNone(string args, string message)
    {
        var error = Assert.Throws<OptionsException>(() => Parse(args.Split(' ')));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void APartialTlsSetting_SaysWhatIsNeeded()
    {
        var error = Assert.Throws<OptionsException>(() => Parse("--peer-tls-key", "a.key"));
        Assert.EndsWith("mutual TLS on the peer port needs all three of --peer-tls-cert, --peer-tls-key and --peer-tls-ca, or none of them for plaintext", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AMissingTlsSetting_GivenByEnvironment_NamesTheVariable()
    {
        var error = Assert.Throws<OptionsException>(() => AgentOptions.Parse(["--node-id", "1", "--peers", "1=a:1"],
            new Dictionary<string, string> { ["KUORUM_PEER_TLS_KEY"] = "/k", ["KUORUM_PEER_TLS_CA"] = "/c" }));
        Assert.Contains("KUORUM_PEER_TLS_KEY and KUORUM_PEER_TLS_CA given without --peer-tls-cert (KUORUM_PEER_TLS_CERT)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GoodFiles_Load_EcAndRsa_Pkcs8AndTraditionalKeys()
    {
        using var ec = _ca.Issue("ec");
        using (var loaded = PeerCertificates.Load(Files(ec)))
        {
            Assert.Equal(ec.Thumbprint, loaded.Certificate.Thumbprint);
            Assert.True(loaded.Certificate.HasPrivateKey);
            Assert.Equal(_ca.Certificate.Thumbprint, Assert.Single(loaded.Authorities).Thumbprint);
        }

        using (var loaded = PeerCertificates.Load(Files(ec, ec.GetECDsaPrivateKey()!.ExportECPrivateKeyPem(), name: "ec-sec1")))
        {
            Assert.Equal(ec.Thumbprint, loaded.Certificate.Thumbprint);
        }

        using var rsa = _ca.Issue("rsa", rsa: true);
        using (var loaded = PeerCertificates.Load(Files(rsa, name: "rsa")))
        {
            Assert.NotNull(loaded.Certificate.GetRSAPrivateKey());
        }

        using (var loaded = PeerCertificates.Load(Files(rsa, rsa.GetRSAPrivateKey()!.ExportRSAPrivateKeyPem(), name: "rsa-pkcs1")))
        {
            Assert.Equal(rsa.Thumbprint, loaded.Certificate.Thumbprint);
        }
    }

    [Fact]
    public void UnreadableFiles_AreRefused_NamingTheSetting()
    {
        using var certificate = _ca.Issue("agent");
        var good = Files(certificate);
        var missing = Path.Combine(_directory, "nowhere", "tls.crt");
        Assert.StartsWith($"--peer-tls-cert names {missing}, which cannot be read", Refusal(good with { CertificateFile = missing }), StringComparison.Ordinal);
        Assert.StartsWith($"--peer-tls-key names {_directory}, which cannot be read", Refusal(good with { KeyFile = _directory }), StringComparison.Ordinal);
        Assert.StartsWith("KUORUM_PEER_TLS_CA names /nonexistent/ca.crt, which cannot be read",
            Refusal(good with { CaFile = "/nonexistent/ca.crt", CaSetting = "KUORUM_PEER_TLS_CA" }), StringComparison.Ordinal);
    }

    [Fact]
    public void AKeyThatDoesNotMatchTheCertificate_IsRefused_NamingTheKeySetting()
    {
        using var certificate = _ca.Issue("agent");
        using var other = _ca.Issue("other");
        var message = Refusal(Files(certificate, LocalCertificateAuthority.PrivateKeyPem(other)));
        Assert.StartsWith("--peer-tls-key: the private key in ", message, StringComparison.Ordinal);
        Assert.Contains("does not match the certificate in --peer-tls-cert (CN=agent", message, StringComparison.Ordinal);

        // An RSA key for an EC certificate.
        using var rsa = _ca.Issue("rsa", rsa: true);
        Assert.Contains("--peer-tls-key: ", Refusal(Files(certificate, LocalCertificateAuthority.PrivateKeyPem(rsa), name: "mixed")), StringComparison.Ordinal);
        Assert.Contains("does not hold an EC private key", Refusal(Files(certificate, LocalCertificateAuthority.PrivateKeyPem(rsa), name: "mixed")), StringComparison.Ordinal);

        // No key at all, and an encrypted one.
        Assert.Contains("--peer-tls-key: ", Refusal(Files(certificate, certificate.ExportCertificatePem(), name: "nokey")), StringComparison.Ordinal);
        Assert.Contains("holds no PEM private key", Refusal(Files(certificate, certificate.ExportCertificatePem(), name: "nokey")), StringComparison.Ordinal);
        var encrypted = certificate.GetECDsaPrivateKey()!.ExportEncryptedPkcs8PrivateKeyPem("secret",
            new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 1000));
        Assert.Contains("--peer-tls-key: ", Refusal(Files(certificate, encrypted, name: "encrypted")), StringComparison.Ordinal);
        Assert.Contains("holds an encrypted private key", Refusal(Files(certificate, encrypted, name: "encrypted")), StringComparison.Ordinal);
    }

    [Fact]
    public void AnExpiredOrNotYetValidCertificate_IsRefused_NamingTheCertificateSetting()
    {
        var now = DateTimeOffset.UtcNow;
        using var expired = _ca.Issue("old", notBefore: now.AddDays(-2), notAfter: now.AddDays(-1));
        var message = Refusal(Files(expired) with { CertificateSetting = "KUORUM_PEER_TLS_CERT" });
        Assert.StartsWith("KUORUM_PEER_TLS_CERT: the certificate in ", message, StringComparison.Ordinal);
        Assert.Contains("(CN=old, serial ", message, StringComparison.Ordinal);
        Assert.Contains($"expired at {now.AddDays(-1).UtcDateTime:yyyy-MM-dd}", message, StringComparison.Ordinal);

        using var future = _ca.Issue("future", notBefore: now.AddDays(1), notAfter: now.AddDays(2));
        Assert.Contains("is not valid before", Refusal(Files(future, name: "future")), StringComparison.Ordinal);
    }

    [Fact]
    public void ACaFileWithoutCertificates_OrACertificateFromAnotherCa_IsRefused()
    {
        using var certificate = _ca.Issue("agent");
        var keyAsCa = Path.Combine(_directory, "not-a-ca.pem");
        File.WriteAllText(keyAsCa, LocalCertificateAuthority.PrivateKeyPem(certificate));
        var message = Refusal(Files(certificate, caFile: keyAsCa));
        Assert.Equal($"--peer-tls-ca: {keyAsCa} holds no PEM certificate (-----BEGIN CERTIFICATE-----); give the CA certificate(s) the peers' certificates are issued by", message);

        var garbage = Path.Combine(_directory, "garbage.pem");
        File.WriteAllText(garbage, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        Assert.StartsWith($"--peer-tls-ca: certificate 1 in {garbage} is not a valid X.509 certificate", Refusal(Files(certificate, caFile: garbage)), StringComparison.Ordinal);
        Assert.StartsWith("--peer-tls-cert: ", Refusal(new PeerTlsSettings(garbage, garbage, _ca.CaFile)), StringComparison.Ordinal);

        using var otherCa = LocalCertificateAuthority.Create(Path.Combine(_directory, "other-ca"), "Other CA");
        message = Refusal(Files(certificate, caFile: otherCa.CaFile));
        Assert.StartsWith("--peer-tls-cert: the certificate in ", message, StringComparison.Ordinal);
        Assert.Contains("does not chain to a CA in --peer-tls-ca", message, StringComparison.Ordinal);
    }

    [Fact]
    public void ACertificateOnlyForServers_IsRefused_BecauseAPeerIsAlsoAClient()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=server-only", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        var now = DateTimeOffset.UtcNow;
        using var issued = request.Create(_ca.Certificate, now.AddHours(-1), now.AddHours(1), [1, 2, 3, 4]);
        using var certificate = issued.CopyWithPrivateKey(key);
        var message = Refusal(Files(certificate));
        Assert.StartsWith("--peer-tls-cert: ", message, StringComparison.Ordinal);
        Assert.Contains("allows only serverAuth", message, StringComparison.Ordinal);
        Assert.Contains("must include serverAuth and clientAuth", message, StringComparison.Ordinal);
    }

    [Fact]
    public void ChangedFiles_AreTakenOnRefresh_AndABrokenChangeKeepsTheLastGoodCertificate()
    {
        var directory = Path.Combine(_directory, "mounted");
        using var first = _ca.Issue("first");
        LocalCertificateAuthority.WriteFiles(directory, first);
        var settings = new PeerTlsSettings(Path.Combine(directory, "tls.crt"), Path.Combine(directory, "tls.key"), _ca.CaFile);
        using var loaded = PeerCertificates.Load(settings, checkInterval: TimeSpan.FromMilliseconds(1));
        Assert.Equal(first.Thumbprint, loaded.Certificate.Thumbprint);
        Assert.False(loaded.Refresh(force: true));

        // A symlink swap, as the kubelet does it: the next refresh takes the new pair.
        using var second = _ca.Issue("second");
        LocalCertificateAuthority.WriteFiles(directory, second);
        Assert.True(loaded.Refresh(force: true));
        Assert.Equal(second.Thumbprint, loaded.Certificate.Thumbprint);

        // A half-done change (new certificate, old key): refused, the second certificate stays in use.
        using var third = _ca.Issue("third");
        var target = Path.Combine(directory, "..data", "tls.crt");
        File.WriteAllText(target, third.ExportCertificatePem());
        Assert.False(loaded.Refresh(force: true));
        Assert.Equal(second.Thumbprint, loaded.Certificate.Thumbprint);
        File.WriteAllText(Path.Combine(directory, "..data", "tls.key"), LocalCertificateAuthority.PrivateKeyPem(third));
        Assert.True(loaded.Refresh(force: true));
        Assert.Equal(third.Thumbprint, loaded.Certificate.Thumbprint);
    }

    [Fact]
    public void HostNames_MatchDnsNamesWithWildcardsAndIpAddresses_NotTheCommonName()
    {
        using var certificate = _ca.Issue("kuorum-0.peers.ns.svc", dnsNames: ["*.peers.ns.svc", "exact.example"], ipAddresses: [IPAddress.Parse("10.0.0.7"), IPAddress.IPv6Loopback]);
        using var loaded = PeerCertificates.Load(Files(certificate));
        Assert.True(loaded.Names("kuorum-0.peers.ns.svc"));
        Assert.True(loaded.Names("exact.example"));
        Assert.True(loaded.Names("10.0.0.7"));
        Assert.True(loaded.Names("::1"));
        Assert.False(loaded.Names("a.b.peers.ns.svc"));
        Assert.False(loaded.Names("peers.ns.svc"));
        Assert.False(loaded.Names("127.0.0.1"));
        Assert.False(loaded.Names("10.0.0.8"));

        using var commonNameOnly = _ca.Issue("127.0.0.1", dnsNames: [], ipAddresses: []);
        using var cn = PeerCertificates.Load(Files(commonNameOnly, name: "cn"));
        Assert.False(cn.Names("127.0.0.1"));
    }

    [Fact]
    public async Task TheAgentProcess_StopsWithExitCode2_WhenTheKeyDoesNotMatch()
    {
        using var certificate = _ca.Issue("agent");
        using var other = _ca.Issue("other");
        var settings = Files(certificate, LocalCertificateAuthority.PrivateKeyPem(other));
        await using var agent = new LocalAgent(1, Path.Combine(_directory, "data"), []);
        agent.Start("1=127.0.0.1:1", "--peer-tls-cert", settings.CertificateFile, "--peer-tls-key", settings.KeyFile, "--peer-tls-ca", settings.CaFile);
        Assert.Equal(2, await agent.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains($"kuorum-agent: --peer-tls-key: the private key in {settings.KeyFile} does not match the certificate in --peer-tls-cert", agent.Output, StringComparison.Ordinal);
    }
}
