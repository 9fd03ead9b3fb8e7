namespace Kuorum.Agent.Security;

/// <summary>
/// The three files of mutual TLS on the peer port, and the names of the settings they came from (the flag or the
/// environment variable), so that every refusal can name the setting to fix.
/// </summary>
/// <param name="CertificateFile">PEM file with this agent's certificate, then optionally its intermediate CAs.</param>
/// <param name="KeyFile">PEM file with the certificate's private key (PKCS#8, or SEC1 EC / PKCS#1 RSA).</param>
/// <param name="CaFile">PEM file with the CA certificate(s) every peer's certificate must chain to.</param>
/// <param name="CertificateSetting">Where <paramref name="CertificateFile"/> was given, e.g. <c>--peer-tls-cert</c>.</param>
/// <param name="KeySetting">Where <paramref name="KeyFile"/> was given, e.g. <c>KUORUM_PEER_TLS_KEY</c>.</param>
/// <param name="CaSetting">Where <paramref name="CaFile"/> was given.</param>
public sealed record PeerTlsSettings(
    string CertificateFile,
    string KeyFile,
    string CaFile,
    string CertificateSetting = "--peer-tls-cert",
    string KeySetting = "--peer-tls-key",
    string CaSetting = "--peer-tls-ca");
