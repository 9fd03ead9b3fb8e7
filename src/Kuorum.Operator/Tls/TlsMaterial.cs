using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Kuorum.Operator.Admin;

namespace Kuorum.Operator.Tls;

/// <summary>
/// The contents of a kubernetes.io/tls Secret as the agents use them (tls.crt, tls.key, ca.crt), parsed and checked:
/// the key is an unencrypted PEM private key (PKCS#8, or EC or RSA as the agent also reads them) matching the leaf, the leaf chains to ca.crt and is valid now, allows serverAuth and
/// clientAuth, and names the pods' DNS names. Every problem is a sentence saying what to change.
/// </summary>
internal sealed class TlsMaterial
{
    private static readonly string[] PrivateKeyLabels = ["PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY"];

    private TlsMaterial(AgentTlsCredentials credentials) => Credentials = credentials;

    /// <summary>The material as the operator presents it to the agents; its id is <see cref="Fingerprint"/>.</summary>
    public AgentTlsCredentials Credentials { get; }

    /// <summary>The leaf of tls.crt, with the private key of tls.key.</summary>
    public X509Certificate2 Certificate => Credentials.Certificate;

    /// <summary>A hash of the three keys' bytes.</summary>
    public string Fingerprint => Credentials.Id;

    /// <summary>A hash of the three keys' bytes, without parsing them.</summary>
    public static string FingerprintOf(IDictionary<string, byte[]>? data)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var key in TlsKeys.All)
        {
            var value = data is not null && data.TryGetValue(key, out var bytes) && bytes is not null ? bytes : [];
            hash.AppendData(BitConverter.GetBytes(value.Length));
            hash.AppendData(value);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }

    /// <summary>Parses the three keys; on failure adds the problems and returns null.</summary>
    public static TlsMaterial? Parse(IDictionary<string, byte[]>? data, List<string> problems)
    {
        var missing = TlsKeys.All.Where(k => data is null || !data.TryGetValue(k, out var v) || v is null || v.Length == 0).ToList();
        if (missing.Count > 0)
        {
            problems.Add($"it has no {string.Join(", no ", missing)} (a kubernetes.io/tls Secret with {string.Join(", ", TlsKeys.All)} is needed)");
            return null;
        }

        var certificateText = Encoding.UTF8.GetString(data![TlsKeys.Certificate]);
        var keyText = Encoding.UTF8.GetString(data[TlsKeys.PrivateKey]);
        var authorityText = Encoding.UTF8.GetString(data[TlsKeys.Authority]);
        var chain = Certificates(certificateText, TlsKeys.Certificate, problems);
        var authorities = Certificates(authorityText, TlsKeys.Authority, problems);
        if (keyText.Contains("-----BEGIN ENCRYPTED PRIVATE KEY-----", StringComparison.Ordinal))
        {
            problems.Add($"{TlsKeys.PrivateKey} is an encrypted private key; the agents need it unencrypted (PKCS#8 -----BEGIN PRIVATE KEY-----, or EC or RSA)");
            return null;
        }

        if (!PrivateKeyLabels.Any(label => keyText.Contains($"-----BEGIN {label}-----", StringComparison.Ordinal)))
        {
            problems.Add($"{TlsKeys.PrivateKey} holds no PEM private key (-----BEGIN PRIVATE KEY-----, PKCS#8; EC PRIVATE KEY and RSA PRIVATE KEY are read too)");
            return null;
        }

        if (chain is null || authorities is null)
        {
            return null;
        }

        X509Certificate2 leaf;
        try
        {
            leaf = X509Certificate2.CreateFromPem(certificateText, keyText);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            problems.Add($"{TlsKeys.PrivateKey} is not the private key of the first certificate in {TlsKeys.Certificate} (or is malformed)");
            return null;
        }

        var intermediates = new X509Certificate2Collection();
        intermediates.AddRange(chain.Skip(1).ToArray());
        return new TlsMaterial(new AgentTlsCredentials(leaf, intermediates, authorities, FingerprintOf(data)));
    }

    /// <summary>
    /// What keeps this material from working for agents dialled as <paramref name="host"/> at <paramref name="now"/>;
    /// empty when nothing does.
    /// </summary>
    public List<string> Check(string host, DateTimeOffset now)
    {
        var problems = new List<string>();
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(Credentials.Authorities);
        chain.ChainPolicy.ExtraStore.AddRange(Credentials.Intermediates);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        if (!chain.Build(Certificate))
        {
            var flags = chain.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status);
            if ((flags & X509ChainStatusFlags.NotTimeValid) != 0)
            {
                problems.Add(now.UtcDateTime >= Certificate.NotAfter.ToUniversalTime()
                    ? $"the certificate in {TlsKeys.Certificate} (or one of its issuers) expired on {Certificate.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC; renew it"
                    : $"the certificate in {TlsKeys.Certificate} (or one of its issuers) is not valid yet at {now.UtcDateTime:yyyy-MM-dd HH:mm} UTC");
            }

            var other = flags & ~X509ChainStatusFlags.NotTimeValid;
            if (other != X509ChainStatusFlags.NoError)
            {
                problems.Add($"the certificate in {TlsKeys.Certificate} does not chain to a CA in {TlsKeys.Authority} ({other}); ca.crt must hold the CA that signed it");
            }
        }

        if (Certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault() is { } usages)
        {
            var oids = usages.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value).ToHashSet();
            var lacking = new[] { (CertificateIssuer.ServerAuth, "server auth"), (CertificateIssuer.ClientAuth, "client auth") }
                .Where(u => !oids.Contains(u.Item1) && !oids.Contains("2.5.29.37.0"))
                .Select(u => u.Item2)
                .ToList();
            if (lacking.Count > 0)
            {
                problems.Add($"the certificate in {TlsKeys.Certificate} does not allow {string.Join(" and ", lacking)}; each agent is both server and client, so it needs both usages");
            }
        }

        if (!Certificate.MatchesHostname(host, allowWildcards: true, allowCommonName: false))
        {
            var wildcard = "*" + host[host.IndexOf('.', StringComparison.Ordinal)..];
            problems.Add($"the certificate in {TlsKeys.Certificate} does not name {host}, which the agents dial; add the DNS name {wildcard} to it");
        }

        return problems;
    }

    /// <summary>The DNS names and IP addresses of the leaf's subject alternative names.</summary>
    public static (IReadOnlyList<string> DnsNames, IReadOnlyList<string> Addresses) AlternativeNames(X509Certificate2 certificate)
    {
        var extension = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault();
        return extension is null
            ? ([], [])
            : (extension.EnumerateDnsNames().ToList(), extension.EnumerateIPAddresses().Select(a => a.ToString()).ToList());
    }

    private static X509Certificate2Collection? Certificates(string pem, string key, List<string> problems)
    {
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPem(pem);
        }
        catch (CryptographicException)
        {
            problems.Add($"{key} is not PEM certificates");
            return null;
        }

        if (certificates.Count == 0)
        {
            problems.Add($"{key} holds no PEM certificate");
            return null;
        }

        return certificates;
    }
}
