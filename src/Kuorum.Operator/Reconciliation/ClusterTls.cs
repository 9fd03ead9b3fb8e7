using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Kuorum.Operator.Admin;
using Kuorum.Operator.Resources;
using Kuorum.Operator.Runtime;
using Kuorum.Operator.Tls;

namespace Kuorum.Operator.Reconciliation;

/// <summary>What the TLS step of a reconcile found: the operator's credentials for the agents, or why there are none.</summary>
/// <param name="Credentials">The client credentials for the agents' peer port; null when TLS is Disabled or blocked.</param>
/// <param name="Problems">Why the cluster's TLS cannot work; empty when it can.</param>
internal sealed record TlsOutcome(AgentTlsCredentials? Credentials, IReadOnlyList<string> Problems)
{
    public static readonly TlsOutcome Disabled = new(null, []);
}

/// <summary>
/// The cluster's transport security. Mode Auto: keeps a CA in the owned Secret NAME-ca (kubernetes.io/tls: tls.crt
/// and tls.key are the CA's certificate and PKCS#8 key; never mounted into pods) and a peer certificate signed by it
/// in the owned Secret NAME-tls (tls.crt, tls.key, ca.crt; mounted into every pod). The CA is replaced only when it is
/// missing or invalid (unreadable, not a CA, key not matching, expired); the peer certificate is reissued when it is
/// missing or invalid, not signed by the current CA, names other SANs than it should, or has less than a third of its
/// life left. Mode Secret: reads the user's Secret (not cached: the operator watches only its own Secrets) and checks
/// it. In both modes the operator calls the agents with the peer certificate of that Secret as its client certificate.
/// </summary>
internal sealed class ClusterTls
{
    private static readonly IReadOnlySet<string> DataWholeReplace = new HashSet<string> { ".data" };
    private readonly IKubernetes _client;
    private readonly ClusterCaches _caches;
    private readonly OwnedObjectWriter _writer;
    private readonly IEventRecorder _events;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<ObjectKey, TlsMaterial> _parsed = new();

    public ClusterTls(IKubernetes client, ClusterCaches caches, OwnedObjectWriter writer, IEventRecorder events, TimeProvider time)
    {
        _client = client;
        _caches = caches;
        _writer = writer;
        _events = events;
        _time = time;
    }

    /// <summary>The SAN IP addresses of an Auto peer certificate.</summary>
    public static IReadOnlyList<IPAddress> PeerAddresses { get; } = [IPAddress.Loopback];

    public async Task<TlsOutcome> ResolveAsync(ConsensusCluster cluster, EffectiveSpec spec, ClusterNames names, CancellationToken ct)
    {
        try
        {
            return spec.TlsMode switch
            {
                TlsModes.Auto => await AutoAsync(cluster, names, ct).ConfigureAwait(false),
                TlsModes.Secret => await UserSecretAsync(names, spec.TlsSecretName ?? "", ct).ConfigureAwait(false),
                _ => TlsOutcome.Disabled,
            };
        }
        catch (OwnershipConflictException e)
        {
            return new TlsOutcome(null, [e.Message]);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.UnprocessableEntity or HttpStatusCode.BadRequest or HttpStatusCode.Forbidden)
        {
            return new TlsOutcome(null, [$"the API server refused a TLS Secret ({(int)e.Response.StatusCode}): {e.Response.Content}"]);
        }
    }

    /// <summary>Forgets what was parsed for a cluster (it was deleted).</summary>
    public void Forget(ObjectKey cluster) => _parsed.TryRemove(cluster, out _);

    private async Task<TlsOutcome> AutoAsync(ConsensusCluster cluster, ClusterNames names, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        var uid = cluster.Metadata.Uid;

        string? caNote = null;
        var (caOutcome, caSecret) = await _writer.EnsureAsync(Kinds.Secrets, _caches.Secrets, new ObjectKey(names.Namespace, names.CaSecret), existing =>
        {
            caNote = null; // per attempt: a create that conflicts may end up keeping what it found
            var why = existing is null ? null : CaProblem(existing.Data, now);
            if (existing is not null && why is null)
            {
                return Secret(cluster, names, names.CaSecret, existing.Data);
            }

            var ca = CertificateIssuer.IssueCa($"kuorum CA {names.Namespace}/{names.Cluster}", now);
            caNote = why is null
                ? $"Created the cluster CA in Secret {names.CaSecret}"
                : $"Replaced the cluster CA in Secret {names.CaSecret}: {why}";
            return Secret(cluster, names, names.CaSecret, new Dictionary<string, byte[]>
            {
                [TlsKeys.Certificate] = Encoding.UTF8.GetBytes(ca.CertificatePem),
                [TlsKeys.PrivateKey] = Encoding.UTF8.GetBytes(ca.PrivateKeyPem),
            });
        }, uid, DataWholeReplace, ct).ConfigureAwait(false);
        if (caOutcome != WriteOutcome.Unchanged && caNote is not null)
        {
            await _events.RecordAsync(cluster, caOutcome == WriteOutcome.Created ? EventTypes.Normal : EventTypes.Warning,
                caOutcome == WriteOutcome.Created ? "CertificateAuthorityCreated" : "CertificateAuthorityReplaced", caNote, ct).ConfigureAwait(false);
        }

        var caPem = caSecret.Data[TlsKeys.Certificate];
        using var ca = X509Certificate2.CreateFromPem(Encoding.UTF8.GetString(caPem), Encoding.UTF8.GetString(caSecret.Data[TlsKeys.PrivateKey]));

        string? peerNote = null;
        var (peerOutcome, peerSecret) = await _writer.EnsureAsync(Kinds.Secrets, _caches.Secrets, new ObjectKey(names.Namespace, names.TlsSecret), existing =>
        {
            peerNote = null;
            var why = existing is null ? null : PeerProblem(existing.Data, caPem, names, now);
            if (existing is not null && why is null)
            {
                return Secret(cluster, names, names.TlsSecret, existing.Data);
            }

            var peer = CertificateIssuer.IssuePeer(ca, $"{names.PeerService}.{names.Namespace}.svc", names.PeerDnsNames, PeerAddresses, now);
            using var issued = X509Certificate2.CreateFromPem(peer.CertificatePem);
            var until = $"valid until {issued.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC, renewed from {CertificateIssuer.RenewalTime(issued):yyyy-MM-dd HH:mm} UTC";
            peerNote = why is null
                ? $"Issued the peer certificate in Secret {names.TlsSecret} ({until})"
                : $"Reissued the peer certificate in Secret {names.TlsSecret}: {why} ({until})";
            return Secret(cluster, names, names.TlsSecret, new Dictionary<string, byte[]>
            {
                [TlsKeys.Certificate] = Encoding.UTF8.GetBytes(peer.CertificatePem),
                [TlsKeys.PrivateKey] = Encoding.UTF8.GetBytes(peer.PrivateKeyPem),
                [TlsKeys.Authority] = caPem,
            });
        }, uid, DataWholeReplace, ct).ConfigureAwait(false);
        if (peerOutcome != WriteOutcome.Unchanged && peerNote is not null)
        {
            await _events.RecordAsync(cluster, EventTypes.Normal, peerOutcome == WriteOutcome.Created ? "CertificateIssued" : "CertificateRenewed", peerNote, ct)
                .ConfigureAwait(false);
        }

        var problems = new List<string>();
        var material = Material(ObjectKey.Of(cluster), peerSecret.Data, problems);
        return material is null
            ? throw new InvalidOperationException($"the peer certificate just written to {names.TlsSecret} does not parse: {string.Join("; ", problems)}")
            : new TlsOutcome(material.Credentials, []);
    }

    private async Task<TlsOutcome> UserSecretAsync(ClusterNames names, string secretName, CancellationToken ct)
    {
        var where = $"spec.tls.secretName: Secret {names.Namespace}/{secretName}";
        V1Secret secret;
        try
        {
            secret = await Kinds.Secrets.Get(_client, names.Namespace, secretName, ct).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return new TlsOutcome(null,
            [
                $"{where} not found; create a kubernetes.io/tls Secret with {string.Join(", ", TlsKeys.All)} (with cert-manager, a Certificate whose secretName is {secretName}), or set spec.tls.mode to Auto",
            ]);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Forbidden)
        {
            return new TlsOutcome(null, [$"{where} cannot be read: the operator lacks get on secrets in {names.Namespace}"]);
        }

        var problems = new List<string>();
        var material = Material(new ObjectKey(names.Namespace, names.Cluster), secret.Data, problems);
        if (material is not null)
        {
            problems.AddRange(material.Check(names.PodHost(0), _time.GetUtcNow()));
        }

        return problems.Count == 0
            ? new TlsOutcome(material!.Credentials, [])
            : new TlsOutcome(null, problems.Select(p => $"{where}: {p}").ToList());
    }

    /// <summary>The parsed material of a cluster's Secret data, reparsed only when the bytes change.</summary>
    private TlsMaterial? Material(ObjectKey cluster, IDictionary<string, byte[]>? data, List<string> problems)
    {
        var fingerprint = TlsMaterial.FingerprintOf(data);
        if (_parsed.TryGetValue(cluster, out var known) && known.Fingerprint == fingerprint)
        {
            return known;
        }

        var parsed = TlsMaterial.Parse(data, problems);
        if (parsed is not null)
        {
            _parsed[cluster] = parsed;
        }

        return parsed;
    }

    /// <summary>Why the CA Secret's data cannot serve as the cluster's CA, or null when it can.</summary>
    internal static string? CaProblem(IDictionary<string, byte[]>? data, DateTimeOffset now)
    {
        if (data is null || !data.TryGetValue(TlsKeys.Certificate, out var certificate) || !data.TryGetValue(TlsKeys.PrivateKey, out var key))
        {
            return $"it lacked {TlsKeys.Certificate} or {TlsKeys.PrivateKey}";
        }

        X509Certificate2 ca;
        try
        {
            ca = X509Certificate2.CreateFromPem(Encoding.UTF8.GetString(certificate), Encoding.UTF8.GetString(key));
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            return "its certificate or key did not parse, or did not match";
        }

        using (ca)
        {
            if (ca.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault() is not { CertificateAuthority: true })
            {
                return "its certificate was not a CA";
            }

            if (ca.SubjectName.RawData.AsSpan().SequenceEqual(ca.IssuerName.RawData) is false)
            {
                return "its certificate was not self-signed";
            }

            if (now.UtcDateTime >= ca.NotAfter.ToUniversalTime())
            {
                return $"it expired on {ca.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC";
            }
        }

        return null;
    }

    /// <summary>Why the peer Secret's data must be reissued, or null when it is good for the CA <paramref name="caPem"/>.</summary>
    internal static string? PeerProblem(IDictionary<string, byte[]>? data, byte[] caPem, ClusterNames names, DateTimeOffset now)
    {
        var problems = new List<string>();
        var material = TlsMaterial.Parse(data, problems);
        if (material is null)
        {
            return string.Join("; ", problems);
        }

        if (!data![TlsKeys.Authority].AsSpan().SequenceEqual(caPem))
        {
            return $"its {TlsKeys.Authority} was not the cluster CA";
        }

        problems.AddRange(material.Check(names.PodHost(0), now));
        if (problems.Count > 0)
        {
            return string.Join("; ", problems);
        }

        var (dns, addresses) = TlsMaterial.AlternativeNames(material.Certificate);
        if (!dns.Order(StringComparer.Ordinal).SequenceEqual(names.PeerDnsNames.Order(StringComparer.Ordinal))
            || !addresses.Order(StringComparer.Ordinal).SequenceEqual(PeerAddresses.Select(a => a.ToString()).Order(StringComparer.Ordinal)))
        {
            return "its subject alternative names were not the cluster's";
        }

        if (CertificateIssuer.RenewalDue(material.Certificate, now))
        {
            return $"less than a third of its life was left (it expires on {material.Certificate.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC)";
        }

        return null;
    }

    private static V1Secret Secret(ConsensusCluster cluster, ClusterNames names, string name, IDictionary<string, byte[]> data) => new()
    {
        ApiVersion = "v1",
        Kind = "Secret",
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = names.Namespace,
            Labels = names.Labels(),
            OwnerReferences = [DesiredObjects.OwnerReference(cluster)],
        },
        Type = TlsKeys.SecretType,
        Data = new Dictionary<string, byte[]>(data),
    };
}
