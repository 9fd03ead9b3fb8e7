using System.Globalization;
using k8s.Models;
using Kuorum.Operator.Resources;
using Kuorum.Operator.Tls;

namespace Kuorum.Operator.Reconciliation;

/// <summary>
/// The spec with every default filled in. The API server applies the schema defaults, but the operator does not
/// rely on it (an object written before a default existed, or by a server that skips defaulting, must work too).
/// </summary>
internal sealed record EffectiveSpec(
    int Replicas,
    V1PodTemplateSpec Template,
    string AgentImage,
    string? AgentImagePullPolicy,
    V1ResourceRequirements? AgentResources,
    string HeartbeatInterval,
    string ElectionTimeout,
    string StorageSize,
    string? StorageClassName,
    string ProbeKind,
    string? ProbePath,
    int? ProbePort,
    string ProbePeriod,
    string ProbeTimeout,
    string ProbeInitialDelay,
    int ProbeSuccessThreshold,
    int ProbeFailureThreshold,
    string WeightingStrategy,
    string TlsMode,
    string? TlsSecretName)
{
    public static EffectiveSpec From(ConsensusClusterSpec spec, string defaultAgentImage) => new(
        spec.Replicas,
        spec.Template ?? new V1PodTemplateSpec(),
        string.IsNullOrEmpty(spec.Agent?.Image) ? defaultAgentImage : spec.Agent.Image,
        spec.Agent?.ImagePullPolicy,
        spec.Agent?.Resources,
        spec.Timing?.HeartbeatInterval ?? "50ms",
        spec.Timing?.ElectionTimeout ?? "500ms",
        spec.Storage?.Size ?? "1Gi",
        spec.Storage?.StorageClassName,
        spec.Probe?.Kind ?? ProbeKinds.None,
        spec.Probe?.Path,
        spec.Probe?.Port,
        spec.Probe?.Period ?? "5s",
        spec.Probe?.Timeout ?? "1s",
        spec.Probe?.InitialDelay ?? "0s",
        spec.Probe?.SuccessThreshold ?? 1,
        spec.Probe?.FailureThreshold ?? 3,
        spec.WeightingStrategy ?? WeightingStrategies.Weighted,
        spec.Tls?.Mode ?? TlsModes.Auto,
        spec.Tls?.SecretName);

    /// <summary>Whether the agents speak mutual TLS on the peer port.</summary>
    public bool TlsEnabled => TlsMode is TlsModes.Auto or TlsModes.Secret;

    /// <summary>The kubernetes.io/tls Secret mounted into the pods: the operator's in mode Auto, the user's in mode Secret; null when Disabled.</summary>
    public string? PeerTlsSecret(ClusterNames names) => TlsMode switch
    {
        TlsModes.Auto => names.TlsSecret,
        TlsModes.Secret => TlsSecretName,
        _ => null,
    };

    /// <summary>The agent's settings, as the KUORUM_* environment the agent reads (stored in the ConfigMap).</summary>
    public SortedDictionary<string, string> AgentEnvironment(ClusterNames names, int bootstrapMembers)
    {
        var env = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["KUORUM_PEER_ADDRESS_TEMPLATE"] = names.PeerAddressTemplate,
            ["KUORUM_BOOTSTRAP_MEMBERS"] = bootstrapMembers.ToString(CultureInfo.InvariantCulture),
            ["KUORUM_DATA_DIR"] = ClusterNames.DataDir,
            ["KUORUM_API_SOCKET"] = ClusterNames.ApiSocket,
            ["KUORUM_HEARTBEAT_INTERVAL"] = HeartbeatInterval,
            ["KUORUM_ELECTION_TIMEOUT"] = ElectionTimeout,
            ["KUORUM_PROBE_KIND"] = ProbeKind,
            ["KUORUM_PROBE_PERIOD"] = ProbePeriod,
            ["KUORUM_PROBE_TIMEOUT"] = ProbeTimeout,
            ["KUORUM_PROBE_INITIAL_DELAY"] = ProbeInitialDelay,
            ["KUORUM_PROBE_SUCCESS_THRESHOLD"] = ProbeSuccessThreshold.ToString(CultureInfo.InvariantCulture),
            ["KUORUM_PROBE_FAILURE_THRESHOLD"] = ProbeFailureThreshold.ToString(CultureInfo.InvariantCulture),
            ["KUORUM_WEIGHTING_STRATEGY"] = WeightingStrategy,
        };
        if (TlsEnabled)
        {
            env["KUORUM_PEER_TLS_CERT"] = $"{ClusterNames.TlsDir}/{TlsKeys.Certificate}";
            env["KUORUM_PEER_TLS_KEY"] = $"{ClusterNames.TlsDir}/{TlsKeys.PrivateKey}";
            env["KUORUM_PEER_TLS_CA"] = $"{ClusterNames.TlsDir}/{TlsKeys.Authority}";
        }

        if (ProbePath is not null)
        {
            env["KUORUM_PROBE_PATH"] = ProbePath;
        }

        if (ProbePort is { } port)
        {
            env["KUORUM_PROBE_PORT"] = port.ToString(CultureInfo.InvariantCulture);
        }

        return env;
    }
}
