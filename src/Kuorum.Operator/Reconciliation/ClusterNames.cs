using System.Globalization;
using Kuorum.Operator.Resources;

namespace Kuorum.Operator.Reconciliation;

/// <summary>Names, labels and ports of the objects a ConsensusCluster owns.</summary>
internal sealed class ClusterNames
{
    public const string AgentContainer = "kuorum-agent";
    public const string RunVolume = "kuorum-run";
    public const string DataVolume = "data";
    public const string DataDir = "/var/lib/kuorum";
    public const string RunDir = "/run/kuorum";
    public const string ApiSocket = RunDir + "/agent.sock";
    public const string TlsVolume = "kuorum-tls";
    public const string TlsDir = "/etc/kuorum/tls";
    public const int PeerPort = 7400;
    public const int ApiPort = 7401;
    public const int AdminPort = 7402;
    public const string ClusterDomain = "cluster.local";

    /// <summary>The agent image's user and group (<c>USER 65532:65532</c>, distroless "nonroot").</summary>
    public const long AgentUserId = 65532;

    public const string ClusterLabel = "kuorum.io/cluster";
    public const string RoleLabel = "kuorum.io/role";
    public const string LeaderRole = "leader";
    public const string BootstrapAnnotation = "kuorum.io/bootstrap-members";
    public const string ConfigHashAnnotation = "kuorum.io/config-hash";
    public const string ManagedBy = "kuorum-operator";

    /// <summary>Seconds a pod has after SIGTERM: the agent hands leadership over (a few election timeouts at most) and flushes.</summary>
    public const long TerminationGracePeriodSeconds = 30;

    public ClusterNames(ConsensusCluster cluster)
    {
        Cluster = cluster.Metadata.Name;
        Namespace = cluster.Metadata.NamespaceProperty ?? "default";
    }

    public string Cluster { get; }

    public string Namespace { get; }

    public string StatefulSet => Cluster;

    public string PeerService => Cluster + "-peers";

    public string LeaderService => Cluster + "-leader";

    public string ClientService => Cluster;

    public string DisruptionBudget => Cluster;

    public string ServiceAccount => Cluster + "-agent";

    public string Role => Cluster + "-agent";

    public string RoleBinding => Cluster + "-agent";

    public string ConfigMap => Cluster + "-config";

    /// <summary>The kubernetes.io/tls Secret of mode Auto: the peer certificate, its key and the CA certificate (mounted into the pods).</summary>
    public string TlsSecret => Cluster + "-tls";

    /// <summary>The Secret of mode Auto holding the cluster's CA certificate and private key (never mounted).</summary>
    public string CaSecret => Cluster + "-ca";

    public string Pod(int ordinal) => $"{Cluster}-{ordinal.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The stable DNS name of a pod through the headless Service.</summary>
    public string PodHost(int ordinal) => $"{Pod(ordinal)}.{PeerService}.{Namespace}.svc.{ClusterDomain}";

    public string PeerAddress(int ordinal) => $"{PodHost(ordinal)}:{PeerPort.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>
    /// The DNS names a peer certificate must carry: every pod's name under the headless Service, in each form a
    /// resolver accepts (the agents dial <see cref="PeerAddressTemplate"/>, the fully qualified one), and loopback.
    /// </summary>
    public IReadOnlyList<string> PeerDnsNames =>
    [
        $"*.{PeerService}.{Namespace}.svc",
        $"*.{PeerService}.{Namespace}.svc.{ClusterDomain}",
        $"*.{PeerService}.{Namespace}",
        $"*.{PeerService}",
        "localhost",
    ];

    /// <summary>The peer address with <c>{ordinal}</c> left for the agent to fill in.</summary>
    public string PeerAddressTemplate => $"{Cluster}-{{ordinal}}.{PeerService}.{Namespace}.svc.{ClusterDomain}:{PeerPort.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Labels every owned object carries.</summary>
    public Dictionary<string, string> Labels() => new()
    {
        ["app.kubernetes.io/name"] = "kuorum",
        ["app.kubernetes.io/instance"] = Cluster,
        ["app.kubernetes.io/managed-by"] = ManagedBy,
        [ClusterLabel] = Cluster,
    };

    /// <summary>The pod selector (stable: a StatefulSet's selector cannot change).</summary>
    public Dictionary<string, string> Selector() => new() { [ClusterLabel] = Cluster };

    public string SelectorString => $"{ClusterLabel}={Cluster}";

    /// <summary>Pod name to ordinal, or -1 when the name is not one of this cluster's pods.</summary>
    public int OrdinalOf(string podName) =>
        podName.StartsWith(Cluster + "-", StringComparison.Ordinal)
        && int.TryParse(podName.AsSpan(Cluster.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var ordinal)
            ? ordinal
            : -1;
}
