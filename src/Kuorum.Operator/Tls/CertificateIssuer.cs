using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Kuorum.Operator.Tls;

/// <summary>A certificate and its private key, both PEM (the key PKCS#8).</summary>
/// <param name="CertificatePem">The certificate.</param>
/// <param name="PrivateKeyPem">Its private key.</param>
internal sealed record PemPair(string CertificatePem, string PrivateKeyPem);

/// <summary>
/// Issues the certificates of TLS mode Auto with System.Security.Cryptography only: a self-signed CA per cluster and
/// a peer certificate signed by it that every agent of the cluster presents, as server and as client. Pure apart from
/// fresh keys and serial numbers: the time comes from the caller.
/// </summary>
internal static class CertificateIssuer
{
    /// <summary>Life of a cluster CA.</summary>
    public static readonly TimeSpan CaLifetime = TimeSpan.FromDays(3650);

    /// <summary>Life of a peer certificate (shorter when the CA expires sooner).</summary>
    public static readonly TimeSpan PeerLifetime = TimeSpan.FromDays(365);

    /// <summary>Certificates start this long before they are issued, so clocks a little behind accept them.</summary>
    public static readonly TimeSpan Backdate = TimeSpan.FromMinutes(5);

    /// <summary>Extended key usage serverAuth.</summary>
    public const string ServerAuth = "1.3.6.1.5.5.7.3.1";

    /// <summary>Extended key usage clientAuth.</summary>
    public const string ClientAuth = "1.3.6.1.5.5.7.3.2";

    /// <summary>A self-signed CA: ECDSA P-256, basic constraints CA with path length 0, key usage certificate and CRL signing.</summary>
    public static PemPair IssueCa(string commonName, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(Name(commonName), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        var subjectKey = new X509SubjectKeyIdentifierExtension(request.PublicKey, false);
        request.CertificateExtensions.Add(subjectKey);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(subjectKey));
        using var certificate = request.CreateSelfSigned(Seconds(now - Backdate), Seconds(now + CaLifetime));
        return new PemPair(certificate.ExportCertificatePem() + "\n", key.ExportPkcs8PrivateKeyPem() + "\n");
    }

    /// <summary>
    /// A peer certificate signed by <paramref name="ca"/> (which must hold its private key): ECDSA P-256, not a CA,
    /// key usage digital signature, extended key usages serverAuth and clientAuth, the given DNS names and IP addresses.
    /// It starts <see cref="Backdate"/> ago (not before the CA) and ends at <see cref="PeerLifetime"/> or when the CA does, whichever is first.
    /// </summary>
    public static PemPair IssuePeer(X509Certificate2 ca, string commonName, IEnumerable<string> dnsNames, IEnumerable<IPAddress> addresses, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(Name(commonName), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ServerAuth), new Oid(ClientAuth)], false));
        var names = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames)
        {
            names.AddDnsName(name);
        }

        foreach (var address in addresses)
        {
            names.AddIpAddress(address);
        }

        request.CertificateExtensions.Add(names.Build(critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        // Within the CA's validity (which the API also insists on): a CA written by an operator whose clock ran ahead
        // must not make every issue fail.
        var notBefore = Seconds(now - Backdate);
        var caNotBefore = new DateTimeOffset(ca.NotBefore.ToUniversalTime(), TimeSpan.Zero);
        if (notBefore < caNotBefore)
        {
            notBefore = caNotBefore;
        }

        var notAfter = Seconds(now + PeerLifetime);
        var caNotAfter = new DateTimeOffset(ca.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        if (notAfter > caNotAfter)
        {
            notAfter = caNotAfter;
        }

        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x01); // positive, and no leading zero byte to strip
        using var certificate = request.Create(ca, notBefore, notAfter, serial);
        return new PemPair(certificate.ExportCertificatePem() + "\n", key.ExportPkcs8PrivateKeyPem() + "\n");
    }

    /// <summary>Whether less than a third of the certificate's life remains at <paramref name="now"/>.</summary>
    public static bool RenewalDue(X509Certificate2 certificate, DateTimeOffset now)
    {
        var notBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero);
        var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        return (notAfter - now) * 3 < notAfter - notBefore;
    }

    /// <summary>When the certificate will be renewed: once two thirds of its life have passed.</summary>
    public static DateTimeOffset RenewalTime(X509Certificate2 certificate)
    {
        var notBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero);
        var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero);
        return notAfter - ((notAfter - notBefore) / 3);
    }

    private static X500DistinguishedName Name(string commonName)
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddOrganizationName("kuorum");
        builder.AddCommonName(commonName.Length <= 64 ? commonName : commonName[..64]);
        return builder.Build();
    }

    private static DateTimeOffset Seconds(DateTimeOffset time) => new(time.UtcTicks - (time.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
}
