using System.Security.Cryptography.X509Certificates;

namespace Kuorum.Operator.Admin;

/// <summary>
/// What the operator needs to call an agent's peer port under mutual TLS: the client certificate it presents (with
/// its private key and any intermediates) and the CA certificates an agent's server certificate must chain to.
/// </summary>
public sealed class AgentTlsCredentials
{
    /// <summary>Creates the credentials.</summary>
    /// <param name="certificate">The client certificate, with its private key.</param>
    /// <param name="intermediates">Certificates between it and the CA (sent with it).</param>
    /// <param name="authorities">The trusted CA certificates.</param>
    /// <param name="id">Names this set of credentials: a new id means new material (channels are rebuilt).</param>
    public AgentTlsCredentials(X509Certificate2 certificate, X509Certificate2Collection intermediates, X509Certificate2Collection authorities, string id)
    {
        if (!certificate.HasPrivateKey)
        {
            throw new ArgumentException("the client certificate needs its private key", nameof(certificate));
        }

        Certificate = certificate;
        Intermediates = intermediates;
        Authorities = authorities;
        Id = id;
    }

    /// <summary>The client certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Certificates between the client certificate and the CA.</summary>
    public X509Certificate2Collection Intermediates { get; }

    /// <summary>The trusted CA certificates.</summary>
    public X509Certificate2Collection Authorities { get; }

    /// <summary>Names this material (a hash of it).</summary>
    public string Id { get; }
}
