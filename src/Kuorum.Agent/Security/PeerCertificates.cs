using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Kuorum.Agent.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kuorum.Agent.Security;

/// <summary>
/// Mutual TLS on the peer port: the agent's certificate (with its private key and any intermediates from the same file)
/// and the CA certificates peers must chain to, read from three PEM files and read again when they change on disk.
/// <para>
/// Both ends of a peer connection are checked. The server (the peer port) requires a client certificate that chains to
/// one of the CAs (custom root trust: the system's roots are not trusted, revocation is not checked) and allows client
/// authentication; the client (<see cref="ClientOptions"/>, used by the peer transport) presents the agent's certificate and
/// accepts a server certificate only if it chains to one of the CAs, allows server authentication and names the host it
/// dialled in a subject alternative name (DNS, wildcards allowed, or IP address; the common name is ignored).
/// </para>
/// <para>
/// Rotation: Kubernetes updates a mounted Secret by swapping a symlink, so the files change under a running agent.
/// <see cref="Refresh"/> re-reads the three files at most every <see cref="CheckInterval"/> (on a timer, and lazily before a
/// handshake) and, when their contents changed and the new set passes every check, uses it for new connections on both
/// sides; a set that fails (say the certificate was replaced but not yet its key) is logged and the last good one kept.
/// Connections already open keep the certificate they were opened with. TLS session resumption is off for peer
/// connections, so every new connection shows — and has checked — the certificate in use at that moment.
/// </para>
/// </summary>
public sealed class PeerCertificates : IDisposable
{
    /// <summary>How often the files are checked for changes unless told otherwise.</summary>
    public static readonly TimeSpan DefaultCheckInterval = TimeSpan.FromSeconds(2);

    private const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    private const string ClientAuth = "1.3.6.1.5.5.7.3.2";
    private const string AnyUsage = "2.5.29.37.0";
    private static readonly TimeSpan _warnEvery = TimeSpan.FromSeconds(30);

    private readonly TimeProvider _time;
    private readonly long _checkTicks;
    private readonly System.Threading.Lock _reloading = new();
    private readonly ConcurrentDictionary<string, long> _warned = new(StringComparer.Ordinal);
    private Material _current;
    private long _nextCheck;
    private Texts? _failed;
    private string? _failure;
    private ITimer? _timer;

    private PeerCertificates(PeerTlsSettings settings, Material material, TimeProvider time, TimeSpan checkInterval)
    {
        Settings = settings;
        _current = material;
        _time = time;
        CheckInterval = checkInterval;
        _checkTicks = (long)(checkInterval.TotalSeconds * time.TimestampFrequency);
        _nextCheck = time.GetTimestamp() + _checkTicks;
    }

    /// <summary>The files and the settings they came from.</summary>
    public PeerTlsSettings Settings { get; }

    /// <summary>How often the files are checked for changes.</summary>
    public TimeSpan CheckInterval { get; }

    /// <summary>Where reloads and refused peers are reported; nothing until set.</summary>
    public ILogger Logger { get; set; } = NullLogger.Instance;

    /// <summary>The certificate in use (with its private key), after checking the files if a check is due.</summary>
    public X509Certificate2 Certificate => Current.Leaf;

    /// <summary>The CA certificates in use.</summary>
    public X509Certificate2Collection Authorities => Current.Authorities;

    private Material Current
    {
        get
        {
            Refresh();
            return Volatile.Read(ref _current);
        }
    }

    /// <summary>
    /// Reads and checks the three files: every file readable; a certificate, with a private key of the same algorithm that
    /// matches it; the certificate valid now, usable for both server and client authentication (when it restricts its
    /// usage at all) and chaining to a CA of the CA file. Each refusal names the setting and what is wrong.
    /// </summary>
    /// <exception cref="OptionsException">A file is missing, unreadable or wrong.</exception>
    public static PeerCertificates Load(PeerTlsSettings settings, TimeProvider? time = null, TimeSpan? checkInterval = null)
    {
        time ??= TimeProvider.System;
        var interval = checkInterval ?? DefaultCheckInterval;
        if (interval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(checkInterval), interval, "the check interval must be positive");
        }

        return new PeerCertificates(settings, Material.Parse(Texts.Read(settings), settings, time.GetUtcNow()), time, interval);
    }

    /// <summary>Checks the files every <see cref="CheckInterval"/> from now on, so a change is picked up (and logged) even without new connections.</summary>
    public void StartWatching() => _timer ??= _time.CreateTimer(_ => Refresh(), null, CheckInterval, CheckInterval);

    /// <summary>
    /// Re-reads the files if a check is due (or <paramref name="force"/>) and, when they changed and pass every check,
    /// uses them for new connections. Returns true when a new set was taken.
    /// </summary>
    public bool Refresh(bool force = false)
    {
        var now = _time.GetTimestamp();
        if ((!force && now < Volatile.Read(ref _nextCheck)) || !_reloading.TryEnter())
        {
            return false;
        }

        try
        {
            Volatile.Write(ref _nextCheck, now + _checkTicks);
            var current = Volatile.Read(ref _current);
            WarnIfExpired(current);
            Texts texts;
            try
            {
                texts = Texts.Read(Settings);
            }
            catch (OptionsException e)
            {
                ReloadFailed(null, e.Message);
                return false;
            }

            if (texts == current.Texts || texts == _failed)
            {
                return false;
            }

            Material next;
            try
            {
                next = Material.Parse(texts, Settings, _time.GetUtcNow());
            }
            catch (OptionsException e)
            {
                ReloadFailed(texts, e.Message);
                return false;
            }

            Volatile.Write(ref _current, next);
            _failed = null;
            _failure = null;
            Logger.LogInformation("peer TLS: the files changed; new connections use certificate {Certificate}, valid until {NotAfter}, and {Authorities} CA certificate(s)",
                Describe(next.Leaf), Utc(next.Leaf.NotAfter), next.Authorities.Count);
            return true;
        }
        finally
        {
            _reloading.Exit();
        }
    }

    /// <summary>True when the certificate in use names <paramref name="host"/> in a subject alternative name (DNS with wildcards, or IP).</summary>
    public bool Names(string host) => NamesHost(Current.Leaf, host);

    /// <summary>The options of one server handshake on the peer port: the current certificate with its chain, a client certificate required and checked.</summary>
    public SslServerAuthenticationOptions ServerOptions(EndPoint? remote)
    {
        var material = Current;
        return new SslServerAuthenticationOptions
        {
            ServerCertificateContext = material.Context,
            ClientCertificateRequired = true,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = (_, certificate, chain, _) => AcceptClient(certificate, chain, remote),
            ApplicationProtocols = [SslApplicationProtocol.Http2],
            AllowTlsResume = false,
        };
    }

    /// <summary>
    /// The TLS options of a client that dials the peer port at <paramref name="host"/>: it presents the certificate in use
    /// at each handshake and accepts only a server certificate from the CAs that names <paramref name="host"/>.
    /// <paramref name="address"/> (host:port) names the peer in log messages.
    /// </summary>
    public SslClientAuthenticationOptions ClientOptions(string host, string? address = null) => new()
    {
        LocalCertificateSelectionCallback = (_, _, _, _, _) => Current.Leaf,
        RemoteCertificateValidationCallback = (_, certificate, chain, _) => AcceptServer(host, address ?? host, certificate, chain),
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        AllowTlsResume = false,
    };

    /// <inheritdoc />
    public void Dispose()
    {
        _timer?.Dispose();
        _timer = null;
    }

    /// <summary>The certificate's subject and serial number, for messages.</summary>
    public static string Describe(X509Certificate2 certificate) => $"{certificate.Subject}, serial {certificate.SerialNumber}";

    private bool AcceptClient(X509Certificate? certificate, X509Chain? sent, EndPoint? remote)
    {
        var from = remote is IPEndPoint ip ? ip.Address.ToString() : remote?.ToString() ?? "a peer";
        if (certificate is null)
        {
            Warn("client-none:" + from, $"peer TLS: refused a connection from {from}: it presented no client certificate");
            return false;
        }

        var leaf = AsCertificate2(certificate);
        if (!Chains(leaf, Volatile.Read(ref _current), sent?.ChainPolicy.ExtraStore, ClientAuth, _time.GetUtcNow(), out var problem))
        {
            Warn("client:" + from, $"peer TLS: refused a connection from {from}: its certificate ({Describe(leaf)}) {problem}");
            return false;
        }

        return true;
    }

    private bool AcceptServer(string host, string address, X509Certificate? certificate, X509Chain? sent)
    {
        if (certificate is null)
        {
            Warn("server-none:" + address, $"peer TLS: refused the peer at {address}: it presented no certificate");
            return false;
        }

        var leaf = AsCertificate2(certificate);
        if (!Chains(leaf, Volatile.Read(ref _current), sent?.ChainPolicy.ExtraStore, ServerAuth, _time.GetUtcNow(), out var problem))
        {
            Warn("server:" + address, $"peer TLS: refused the peer at {address}: its certificate ({Describe(leaf)}) {problem}");
            return false;
        }

        if (!NamesHost(leaf, host))
        {
            Warn("name:" + address, $"peer TLS: refused the peer at {address}: its certificate ({Describe(leaf)}) names {NamesOf(leaf)}, not {host}");
            return false;
        }

        return true;
    }

    private static bool NamesHost(X509Certificate2 certificate, string host)
    {
        try
        {
            return certificate.MatchesHostname(host, allowWildcards: true, allowCommonName: false);
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static string NamesOf(X509Certificate2 certificate)
    {
        foreach (var extension in certificate.Extensions)
        {
            if (extension.Oid?.Value == "2.5.29.17")
            {
                var san = new X509SubjectAlternativeNameExtension(extension.RawData, extension.Critical);
                var names = san.EnumerateDnsNames().Concat(san.EnumerateIPAddresses().Select(a => a.ToString())).ToList();
                return names.Count == 0 ? "no DNS name or IP address" : string.Join(", ", names);
            }
        }

        return "no subject alternative name";
    }

    private static X509Certificate2 AsCertificate2(X509Certificate certificate) =>
        certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());

    // Custom root trust: only the configured CAs are roots; intermediates come from the peer (what it sent) and from this
    // agent's own certificate file (peers of one cluster usually share an issuing chain).
    private static bool Chains(X509Certificate2 leaf, Material material, X509Certificate2Collection? sent, string? usage, DateTimeOffset now, out string problem)
    {
        using var chain = new X509Chain();
        var policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.AddRange(material.Authorities);
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.DisableCertificateDownloads = true;
        policy.VerificationTime = now.UtcDateTime;
        policy.ExtraStore.AddRange(material.Intermediates);
        if (sent is not null)
        {
            policy.ExtraStore.AddRange(sent);
        }

        if (usage is not null)
        {
            policy.ApplicationPolicy.Add(new Oid(usage));
        }

        if (chain.Build(leaf))
        {
            problem = "";
            return true;
        }

        var reasons = chain.ChainStatus.Select(s => s.StatusInformation.Trim().TrimEnd('.')).Where(s => s.Length > 0).Distinct().ToList();
        problem = "does not chain to a CA in " + material.CaSetting
            + (reasons.Count > 0 ? $" ({string.Join("; ", reasons)})" : "")
            + (usage == ServerAuth ? " or does not allow server authentication" : usage == ClientAuth ? " or does not allow client authentication" : "");
        return false;
    }

    private void WarnIfExpired(Material current)
    {
        var notAfter = Utc(current.Leaf.NotAfter);
        if (notAfter <= _time.GetUtcNow())
        {
            Warn("expired", $"peer TLS: the certificate in use ({Describe(current.Leaf)}) expired at {notAfter:yyyy-MM-dd HH:mm:ss}Z and {Settings.CertificateFile} has not been replaced with a valid one; peers refuse new connections from and to this agent");
        }
    }

    private void ReloadFailed(Texts? texts, string message)
    {
        _failed = texts;
        if (message != _failure)
        {
            _failure = message;
            Logger.LogWarning("peer TLS: the files changed but cannot be used, so the current certificate stays in use: {Problem}", message);
        }
    }

    // At most one warning per key every 30 s: a peer refused at every reconnect must not flood the log.
    private void Warn(string key, string message)
    {
        var now = _time.GetTimestamp();
        if (_warned.TryGetValue(key, out var last) && _time.GetElapsedTime(last, now) < _warnEvery)
        {
            return;
        }

        if (_warned.Count > 1024)
        {
            _warned.Clear();
        }

        _warned[key] = now;
        Logger.LogWarning("{Message}", message);
    }

    private static DateTimeOffset Utc(DateTime time) => new(time.ToUniversalTime(), TimeSpan.Zero);

    private sealed record Texts(string Certificate, string Key, string Authorities)
    {
        public static Texts Read(PeerTlsSettings settings) =>
            new(ReadFile(settings.CertificateFile, settings.CertificateSetting), ReadFile(settings.KeyFile, settings.KeySetting), ReadFile(settings.CaFile, settings.CaSetting));

        private static string ReadFile(string file, string setting)
        {
            try
            {
                return File.ReadAllText(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
            {
                throw new OptionsException($"{setting} names {file}, which cannot be read: {e.Message}");
            }
        }
    }

    private sealed class Material
    {
        private Material(Texts texts, X509Certificate2 leaf, X509Certificate2Collection intermediates, X509Certificate2Collection authorities, string caSetting)
        {
            Texts = texts;
            Leaf = leaf;
            Intermediates = intermediates;
            Authorities = authorities;
            CaSetting = caSetting;
            Context = SslStreamCertificateContext.Create(leaf, intermediates, offline: true);
        }

        public Texts Texts { get; }

        public X509Certificate2 Leaf { get; }

        public X509Certificate2Collection Intermediates { get; }

        public X509Certificate2Collection Authorities { get; }

        public string CaSetting { get; }

        public SslStreamCertificateContext Context { get; }

        public static Material Parse(Texts texts, PeerTlsSettings s, DateTimeOffset now)
        {
            try
            {
                return ParseChecked(texts, s, now);
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException)
            {
                // Whatever the checks below did not foresee still stops the agent as a setting error, not a crash.
                throw new OptionsException($"{s.CertificateSetting}: the certificate in {s.CertificateFile} cannot be used ({e.Message.TrimEnd('.')})");
            }
        }

        private static Material ParseChecked(Texts texts, PeerTlsSettings s, DateTimeOffset now)
        {
            var chain = Certificates(texts.Certificate, s.CertificateSetting, s.CertificateFile);
            if (chain.Count == 0)
            {
                throw new OptionsException($"{s.CertificateSetting}: {s.CertificateFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----); give this agent's certificate, optionally followed by its intermediate CAs");
            }

            var authorities = Certificates(texts.Authorities, s.CaSetting, s.CaFile);
            if (authorities.Count == 0)
            {
                throw new OptionsException($"{s.CaSetting}: {s.CaFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----); give the CA certificate(s) the peers' certificates are issued by");
            }

            var leaf = WithKey(chain[0], texts.Key, s);
            var notBefore = Utc(leaf.NotBefore);
            var notAfter = Utc(leaf.NotAfter);
            if (notAfter <= now)
            {
                throw new OptionsException($"{s.CertificateSetting}: the certificate in {s.CertificateFile} ({Describe(leaf)}) expired at {Show(notAfter)}; give a current one");
            }

            if (notBefore > now)
            {
                throw new OptionsException($"{s.CertificateSetting}: the certificate in {s.CertificateFile} ({Describe(leaf)}) is not valid before {Show(notBefore)} (now is {Show(now)}); check the clock or give a current one");
            }

            CheckUsage(leaf, s);
            var intermediates = new X509Certificate2Collection();
            intermediates.AddRange(chain.Skip(1).ToArray());
            var material = new Material(texts, leaf, intermediates, new X509Certificate2Collection(authorities.ToArray()), s.CaSetting);
            if (!Chains(leaf, material, null, null, now, out var problem))
            {
                throw new OptionsException($"{s.CertificateSetting}: the certificate in {s.CertificateFile} ({Describe(leaf)}) {problem}; peers would refuse it");
            }

            return material;
        }

        private static string Show(DateTimeOffset time) => time.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + "Z";

        private static List<X509Certificate2> Certificates(string text, string setting, string file)
        {
            var certificates = new List<X509Certificate2>();
            var rest = text.AsSpan();
            while (PemEncoding.TryFind(rest, out var fields))
            {
                if (rest[fields.Label].SequenceEqual("CERTIFICATE"))
                {
                    var der = new byte[fields.DecodedDataLength];
                    try
                    {
                        if (!Convert.TryFromBase64Chars(rest[fields.Base64Data], der, out var written))
                        {
                            throw new CryptographicException("its base64 does not decode");
                        }

                        certificates.Add(X509CertificateLoader.LoadCertificate(der.AsSpan(0, written)));
                    }
                    catch (CryptographicException e)
                    {
                        throw new OptionsException($"{setting}: certificate {certificates.Count + 1} in {file} is not a valid X.509 certificate ({e.Message.TrimEnd('.')})");
                    }
                }

                rest = rest[fields.Location.End..];
            }

            return certificates;
        }

        private static X509Certificate2 WithKey(X509Certificate2 certificate, string keyText, PeerTlsSettings s)
        {
            string? block = null;
            var rest = keyText.AsSpan();
            while (block is null && PemEncoding.TryFind(rest, out var fields))
            {
                var label = rest[fields.Label];
                if (label.SequenceEqual("ENCRYPTED PRIVATE KEY"))
                {
                    throw new OptionsException($"{s.KeySetting}: {s.KeyFile} holds an encrypted private key; the agent reads only unencrypted keys (PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY), as a Kubernetes TLS Secret holds them");
                }

                if (label.SequenceEqual("PRIVATE KEY") || label.SequenceEqual("EC PRIVATE KEY") || label.SequenceEqual("RSA PRIVATE KEY"))
                {
                    block = rest[fields.Location].ToString();
                }

                rest = rest[fields.Location.End..];
            }

            if (block is null)
            {
                throw new OptionsException($"{s.KeySetting}: {s.KeyFile} holds no PEM private key (-----BEGIN PRIVATE KEY-----, EC PRIVATE KEY or RSA PRIVATE KEY)");
            }

            var algorithm = certificate.GetKeyAlgorithm();
            if (algorithm == "1.2.840.10045.2.1")
            {
                using var key = ECDsa.Create();
                Import(key, block, "EC", s);
                return Pair(() => certificate.CopyWithPrivateKey(key), certificate, s);
            }

            if (algorithm == "1.2.840.113549.1.1.1")
            {
                using var key = RSA.Create();
                Import(key, block, "RSA", s);
                return Pair(() => certificate.CopyWithPrivateKey(key), certificate, s);
            }

            throw new OptionsException($"{s.CertificateSetting}: the certificate in {s.CertificateFile} ({Describe(certificate)}) has a key of algorithm {algorithm}; peer certificates must have an EC or RSA key");
        }

        private static void Import(AsymmetricAlgorithm key, string block, string kind, PeerTlsSettings s)
        {
            try
            {
                key.ImportFromPem(block);
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException)
            {
                throw new OptionsException(
                    $"{s.KeySetting}: {s.KeyFile} does not hold an {kind} private key the agent can read ({e.Message.TrimEnd('.')}); the certificate in {s.CertificateSetting} has an {kind} key, so its private key is one too");
            }
        }

        private static X509Certificate2 Pair(Func<X509Certificate2> copy, X509Certificate2 certificate, PeerTlsSettings s)
        {
            try
            {
                return copy();
            }
            catch (ArgumentException)
            {
                throw new OptionsException(
                    $"{s.KeySetting}: the private key in {s.KeyFile} does not match the certificate in {s.CertificateSetting} ({Describe(certificate)}); give the key the certificate was issued for");
            }
        }

        private static void CheckUsage(X509Certificate2 certificate, PeerTlsSettings s)
        {
            foreach (var extension in certificate.Extensions)
            {
                if (extension.Oid?.Value != "2.5.29.37")
                {
                    continue;
                }

                var usages = new X509EnhancedKeyUsageExtension(extension, extension.Critical).EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value ?? "").ToList();
                if (!usages.Contains(AnyUsage) && !(usages.Contains(ServerAuth) && usages.Contains(ClientAuth)))
                {
                    var names = usages.Select(u => u switch { ServerAuth => "serverAuth", ClientAuth => "clientAuth", _ => u });
                    throw new OptionsException(
                        $"{s.CertificateSetting}: the certificate in {s.CertificateFile} ({Describe(certificate)}) allows only {string.Join(", ", names)}; an agent's certificate serves both ends of peer connections, so its extended key usage must include serverAuth and clientAuth (or be absent)");
                }
            }
        }
    }
}
