using System.Net;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Kuorum.Api.V1;

namespace Kuorum.Demo;

/// <summary>
/// A cluster of local agent processes on loopback, with data directories under one temporary root it removes. With
/// mutual TLS (<see cref="Create(int, Func{long, string[]}, bool)"/>), it issues a throwaway CA and a certificate per
/// agent under <c>&lt;root&gt;/tls</c> (<see cref="LocalCertificateAuthority"/>) and passes the three <c>--peer-tls-*</c>
/// settings; by default the peer port is plaintext.
/// </summary>
public sealed class LocalCluster : IAsyncDisposable
{
    private LocalCluster(string root, LocalCertificateAuthority? tls)
    {
        Root = root;
        Tls = tls;
    }

    /// <summary>The directory holding every agent's data.</summary>
    public string Root { get; }

    /// <summary>The CA that issued the agents' peer certificates when the cluster uses mutual TLS; null when plaintext.</summary>
    public LocalCertificateAuthority? Tls { get; }

    /// <summary>The agents; agent i has id i + 1.</summary>
    public List<LocalAgent> Agents { get; } = [];

    /// <summary>id=host:port of every agent.</summary>
    public string Peers => string.Join(",", Agents.Select(a => $"{a.Id}={a.PeerAddress}"));

    /// <summary>Starts <paramref name="size"/> agents that bootstrap one cluster; <paramref name="args"/> go to every agent.</summary>
    public static LocalCluster Start(int size, params string[] args) => Start(size, _ => args);

    /// <summary>Starts <paramref name="size"/> agents that bootstrap one cluster, agent id <c>i</c> with <paramref name="argsOf"/>(i).</summary>
    public static LocalCluster Start(int size, Func<long, string[]> argsOf)
    {
        var cluster = Create(size, argsOf);
        cluster.StartAll();
        return cluster;
    }

    /// <summary>
    /// Starts <paramref name="size"/> agents that bootstrap one cluster, agent id <c>i</c> with <paramref name="argsOf"/>(i);
    /// with <paramref name="mutualTls"/> their peer ports use mutual TLS with certificates from a throwaway CA.
    /// </summary>
    public static LocalCluster Start(int size, Func<long, string[]> argsOf, bool mutualTls)
    {
        var cluster = Create(size, argsOf, mutualTls);
        cluster.StartAll();
        return cluster;
    }

    /// <summary>Describes <paramref name="size"/> agents (ports chosen, nothing started): <see cref="StartAll"/> starts them.</summary>
    public static LocalCluster Create(int size, Func<long, string[]> argsOf) => Create(size, argsOf, mutualTls: false);

    /// <summary>
    /// Describes <paramref name="size"/> agents (ports chosen, nothing started); with <paramref name="mutualTls"/> also
    /// issues the CA and each agent's certificate (SANs 127.0.0.1 and localhost), which a test may replace before
    /// <see cref="StartAll"/>.
    /// </summary>
    public static LocalCluster Create(int size, Func<long, string[]> argsOf, bool mutualTls)
    {
        var root = Path.Combine(Path.GetTempPath(), "kuorum-local", Guid.NewGuid().ToString("N"));
        var tls = mutualTls ? LocalCertificateAuthority.Create(Path.Combine(root, "tls")) : null;
        var cluster = new LocalCluster(root, tls);
        for (var i = 1; i <= size; i++)
        {
            cluster.AddAgent(argsOf(i));
        }

        return cluster;
    }

    /// <summary>
    /// Describes one more agent (id = count + 1, not started) with <paramref name="args"/>, and when the cluster uses
    /// mutual TLS its own certificate and the settings naming it.
    /// </summary>
    public LocalAgent AddAgent(params string[] args)
    {
        var id = Agents.Count + 1L;
        string[] tlsArgs = [];
        if (Tls is not null)
        {
            Tls.IssueAgent(id).Dispose();
            tlsArgs = Tls.AgentArgs(id);
        }

        var agent = new LocalAgent(id, Path.Combine(Root, $"node{id}"), [.. args, .. tlsArgs]);
        Agents.Add(agent);
        return agent;
    }

    /// <summary>Starts every agent, bootstrapping one cluster.</summary>
    public void StartAll()
    {
        foreach (var agent in Agents)
        {
            agent.Start(Peers);
        }
    }

    /// <summary>
    /// Waits until every running agent names the same running leader in the same term (not <paramref name="not"/>);
    /// throws with the agents' output when that does not happen in time or an agent exits.
    /// </summary>
    public async Task<LocalAgent> WaitForLeaderAsync(TimeSpan timeout, LocalAgent? not = null, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Agents.FirstOrDefault(a => a.ExitCode is { } code && code != 137 && code != 0 && a != not) is { } exited)
            {
                throw new InvalidOperationException($"agent {exited.Id} exited with code {exited.ExitCode}:\n{Tail(exited.Output)}");
            }

            var views = new List<LeaderInfo>();
            foreach (var agent in Agents.Where(a => a.IsRunning))
            {
                try
                {
                    views.Add(await agent.Leadership.GetLeaderAsync(new GetLeaderRequest(), deadline: DateTime.UtcNow.AddSeconds(2), cancellationToken: cancellationToken).ConfigureAwait(false));
                }
                catch (RpcException)
                {
                    views.Clear();
                    break;
                }
            }

            if (views.Count > 0 && views.All(v => v.LeaderId != 0 && v.LeaderId == views[0].LeaderId && v.Term == views[0].Term)
                && Agents.FirstOrDefault(a => a.Id == views[0].LeaderId) is { IsRunning: true } leader && leader != not)
            {
                return leader;
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }

        throw new TimeoutException($"no agreed leader within {timeout.TotalSeconds:F0} s:\n{Dump()}");
    }

    /// <summary>The tail of every agent's output.</summary>
    public string Dump() => string.Join("\n", Agents.Select(a => $"--- agent {a.Id} (running: {a.IsRunning}, exit {a.ExitCode}) ---\n{Tail(a.Output)}"));

    private static string Tail(string text) => string.Join("\n", text.Split('\n').TakeLast(40));

    /// <summary>Kills every agent and removes the data.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var agent in Agents)
        {
            await agent.DisposeAsync().ConfigureAwait(false);
        }

        Tls?.Dispose();

        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: it is under the temporary directory.
        }
    }
}

/// <summary>
/// A throwaway certificate authority for local clusters and tests: an ECDSA P-256 CA made with
/// <see cref="CertificateRequest"/>, whose certificate is written to <see cref="CaFile"/> (its key stays in memory), and
/// peer certificates it issues. <see cref="WriteFiles"/> lays a certificate and key out as Kubernetes mounts a TLS Secret
/// (<c>tls.crt</c> and <c>tls.key</c> as links through <c>..data</c> to a versioned directory, replaced by swapping the
/// <c>..data</c> link), so replacing them is the same atomic change an agent sees in a pod.
/// </summary>
public sealed partial class LocalCertificateAuthority : IDisposable
{
    private const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuth = "1.3.6.1.5.5.7.3.2";

    private LocalCertificateAuthority(string directory, X509Certificate2 certificate)
    {
        Directory = directory;
        Certificate = certificate;
    }

    /// <summary>Where the CA file and the agents' directories are.</summary>
    public string Directory { get; }

    /// <summary>The CA certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The CA certificate as PEM (give it as <c>--peer-tls-ca</c>).</summary>
    public string CaFile => Path.Combine(Directory, "ca.crt");

    /// <summary>Creates a CA valid from a week ago for 30 days and writes its certificate to <see cref="CaFile"/>.</summary>
    public static LocalCertificateAuthority Create(string directory, string name = "Kuorum local CA")
    {
        System.IO.Directory.CreateDirectory(directory);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName("CN=" + name), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        var certificate = request.CreateSelfSigned(now.AddDays(-7), now.AddDays(30));
        var authority = new LocalCertificateAuthority(directory, certificate);
        File.WriteAllText(authority.CaFile, certificate.ExportCertificatePem() + "\n");
        return authority;
    }

    /// <summary>
    /// Issues a certificate with its private key (ECDSA P-256, or RSA 2048 with <paramref name="rsa"/>): subject
    /// <c>CN=<paramref name="commonName"/></c>, SANs <paramref name="dnsNames"/> and <paramref name="ipAddresses"/> (by
    /// default localhost and 127.0.0.1), usable for server and client authentication, valid from
    /// <paramref name="notBefore"/> (an hour ago) to <paramref name="notAfter"/> (a day from now).
    /// </summary>
    public X509Certificate2 Issue(string commonName, IEnumerable<string>? dnsNames = null, IEnumerable<IPAddress>? ipAddresses = null,
        DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null, bool rsa = false)
    {
        var now = DateTimeOffset.UtcNow;
        using var key = rsa ? (AsymmetricAlgorithm)RSA.Create(2048) : ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = key is RSA rsaKey
            ? new CertificateRequest(new X500DistinguishedName("CN=" + commonName), rsaKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : new CertificateRequest(new X500DistinguishedName("CN=" + commonName), (ECDsa)key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ServerAuth), new Oid(ClientAuth)], false));
        var names = new SubjectAlternativeNameBuilder();
        foreach (var dns in dnsNames ?? ["localhost"])
        {
            names.AddDnsName(dns);
        }

        foreach (var ip in ipAddresses ?? [IPAddress.Loopback])
        {
            names.AddIpAddress(ip);
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        // Signed with the CA's ECDSA key whatever the subject's key is, and without CertificateRequest's check that the
        // validity lies within the CA's (tests issue expired and not-yet-valid certificates on purpose).
        using var caKey = Certificate.GetECDsaPrivateKey()!;
        using var issued = request.Create(Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey),
            notBefore ?? now.AddHours(-1), notAfter ?? now.AddDays(1), serial);
        return key is RSA r ? issued.CopyWithPrivateKey(r) : issued.CopyWithPrivateKey((ECDsa)key);
    }

    /// <summary>The directory of agent <paramref name="id"/>'s certificate and key.</summary>
    public string AgentDirectory(long id) => Path.Combine(Directory, $"node{id}");

    /// <summary>Issues agent <paramref name="id"/>'s certificate (see <see cref="Issue"/>) and writes it to <see cref="AgentDirectory"/>.</summary>
    public X509Certificate2 IssueAgent(long id, IEnumerable<string>? dnsNames = null, IEnumerable<IPAddress>? ipAddresses = null,
        DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        var certificate = Issue($"kuorum-agent-{id}", dnsNames, ipAddresses, notBefore, notAfter);
        WriteFiles(AgentDirectory(id), certificate);
        return certificate;
    }

    /// <summary>The three settings that give agent <paramref name="id"/> its files.</summary>
    public string[] AgentArgs(long id) =>
    [
        "--peer-tls-cert", Path.Combine(AgentDirectory(id), "tls.crt"),
        "--peer-tls-key", Path.Combine(AgentDirectory(id), "tls.key"),
        "--peer-tls-ca", CaFile,
    ];

    /// <summary>
    /// Writes <paramref name="certificate"/> (PEM) and its private key (PKCS#8 PEM) as <c>tls.crt</c> and <c>tls.key</c> in
    /// <paramref name="directory"/> the way the kubelet updates a Secret volume: into a new versioned directory, then one
    /// atomic rename of the <c>..data</c> link, so a reader sees either the old pair or the new one.
    /// </summary>
    public static void WriteFiles(string directory, X509Certificate2 certificate)
    {
        System.IO.Directory.CreateDirectory(directory);
        var version = $"..{DateTime.UtcNow:yyyy_MM_dd_HH_mm_ss.fffffff}_{Guid.NewGuid():N}";
        System.IO.Directory.CreateDirectory(Path.Combine(directory, version));
        File.WriteAllText(Path.Combine(directory, version, "tls.crt"), certificate.ExportCertificatePem() + "\n");
        File.WriteAllText(Path.Combine(directory, version, "tls.key"), PrivateKeyPem(certificate) + "\n");

        var data = Path.Combine(directory, "..data");
        var first = new FileInfo(data).LinkTarget is null;
        var temporary = Path.Combine(directory, "..data_tmp");
        File.Delete(temporary);
        File.CreateSymbolicLink(temporary, version);
        // rename(2) replaces the old link atomically (File.Move refuses a link to a directory as its source).
        if (Rename(temporary, data) != 0)
        {
            throw new IOException($"cannot rename {temporary} to {data}: errno {Marshal.GetLastPInvokeError()}");
        }
        if (first)
        {
            File.CreateSymbolicLink(Path.Combine(directory, "tls.crt"), Path.Combine("..data", "tls.crt"));
            File.CreateSymbolicLink(Path.Combine(directory, "tls.key"), Path.Combine("..data", "tls.key"));
        }

        foreach (var old in System.IO.Directory.GetDirectories(directory, "..2*"))
        {
            if (Path.GetFileName(old) != version)
            {
                System.IO.Directory.Delete(old, recursive: true);
            }
        }
    }

    /// <summary>The certificate's private key as PKCS#8 PEM.</summary>
    public static string PrivateKeyPem(X509Certificate2 certificate) =>
        certificate.GetECDsaPrivateKey() is { } ec ? ec.ExportPkcs8PrivateKeyPem()
        : certificate.GetRSAPrivateKey() is { } rsa ? rsa.ExportPkcs8PrivateKeyPem()
        : throw new ArgumentException("the certificate has no EC or RSA private key", nameof(certificate));

    /// <inheritdoc />
    public void Dispose() => Certificate.Dispose();

    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Rename(string oldPath, string newPath);
}
