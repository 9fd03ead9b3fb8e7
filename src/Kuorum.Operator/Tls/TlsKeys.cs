namespace Kuorum.Operator.Tls;

/// <summary>The keys of a kubernetes.io/tls Secret the agents read (cert-manager writes the same three).</summary>
internal static class TlsKeys
{
    /// <summary>The Secret type.</summary>
    public const string SecretType = "kubernetes.io/tls";

    /// <summary>PEM certificate, leaf first, then any intermediates.</summary>
    public const string Certificate = "tls.crt";

    /// <summary>PEM PKCS#8 private key of the leaf.</summary>
    public const string PrivateKey = "tls.key";

    /// <summary>PEM CA bundle the peers' certificates must chain to.</summary>
    public const string Authority = "ca.crt";

    /// <summary>The three keys, in the order they are checked.</summary>
    public static readonly IReadOnlyList<string> All = [Certificate, PrivateKey, Authority];
}
