using System.Text.Json.Serialization;
using k8s.Models;

namespace Kuorum.Operator.Resources;

/// <summary>The desired state of a ConsensusCluster.</summary>
[CelRule("!has(self.template.spec) || !has(self.template.spec.containers) || self.template.spec.containers.all(c, c.name != 'kuorum-agent')",
    "the container name 'kuorum-agent' is reserved for the sidecar; rename the application container", FieldPath = ".template.spec.containers")]
public sealed class ConsensusClusterSpec
{
    /// <summary>The largest number of replicas a cluster may have.</summary>
    public const int MaxReplicas = 9;

    /// <summary>
    /// Number of replicas, each an application pod with a Kuorum agent, all of them Raft voters. 1 to 9; an odd
    /// number is recommended (4 replicas tolerate one failure, like 3). Scaling changes the Raft membership one member
    /// at a time: a new replica joins as a learner and is promoted once caught up; a removed replica leaves the
    /// configuration before its pod is deleted.
    /// </summary>
    [JsonPropertyName("replicas")]
    [SchemaRange(1, MaxReplicas)]
    [SchemaDefault("3")]
    public int Replicas { get; set; } = 3;

    /// <summary>
    /// The application's pod template. Its containers run beside the Kuorum agent, which the operator adds as a
    /// native sidecar (an init container named kuorum-agent with restartPolicy Always). The application reaches its
    /// agent over gRPC at 127.0.0.1:7401 or the Unix socket /run/kuorum/agent.sock (the kuorum-run volume is mounted
    /// into every application container at /run/kuorum).
    /// </summary>
    [JsonPropertyName("template")]
    [SchemaRequired]
    public V1PodTemplateSpec Template { get; set; } = new();

    /// <summary>The Kuorum agent sidecar: image and resources.</summary>
    [JsonPropertyName("agent")]
    [SchemaDefault("{}")]
    public AgentSpec? Agent { get; set; }

    /// <summary>Raft timing: heartbeat interval and election timeout.</summary>
    [JsonPropertyName("timing")]
    [SchemaDefault("{}")]
    public TimingSpec? Timing { get; set; }

    /// <summary>Persistent storage of each agent's Raft log, key-value state and snapshots.</summary>
    [JsonPropertyName("storage")]
    [SchemaDefault("{}")]
    [CelRule("self.size == oldSelf.size && (has(self.storageClassName) == has(oldSelf.storageClassName)) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)",
        "storage is immutable once the cluster exists (StatefulSet volume claim templates cannot change); create a new cluster to change it")]
    public StorageSpec? Storage { get; set; }

    /// <summary>How each agent probes its own application container. Leadership follows health: an agent whose application is critical does not stay leader.</summary>
    [JsonPropertyName("probe")]
    [SchemaDefault("{}")]
    public ProbeSpec? Probe { get; set; }

    /// <summary>
    /// How the leader's endpoint table spreads load over replicas: leader-only (everything to the leader), random,
    /// round-robin, weighted (by health and latency) or least-request (power of two choices).
    /// </summary>
    [JsonPropertyName("weightingStrategy")]
    [SchemaEnum(WeightingStrategies.LeaderOnly, WeightingStrategies.Random, WeightingStrategies.RoundRobin, WeightingStrategies.Weighted, WeightingStrategies.LeastRequest)]
    [SchemaDefault("\"weighted\"")]
    public string? WeightingStrategy { get; set; }

    /// <summary>
    /// Mutual TLS on the agents' peer port 7400 (Raft between the agents, and the operator's Admin calls): Auto (the
    /// default; the operator issues and renews the certificates), Secret (your own certificate) or Disabled.
    /// </summary>
    [JsonPropertyName("tls")]
    [SchemaDefault("{}")]
    public TlsSpec? Tls { get; set; }
}

/// <summary>The weighting strategies an agent understands.</summary>
public static class WeightingStrategies
{
    /// <summary>Every request goes to the leader.</summary>
    public const string LeaderOnly = "leader-only";

    /// <summary>Uniformly random over healthy endpoints.</summary>
    public const string Random = "random";

    /// <summary>Round-robin over healthy endpoints.</summary>
    public const string RoundRobin = "round-robin";

    /// <summary>Weighted by health tier and latency.</summary>
    public const string Weighted = "weighted";

    /// <summary>Least outstanding requests of two random choices.</summary>
    public const string LeastRequest = "least-request";
}

/// <summary>The Kuorum agent sidecar.</summary>
public sealed class AgentSpec
{
    /// <summary>Agent container image; when empty, the operator's default (its --agent-image argument).</summary>
    [JsonPropertyName("image")]
    [SchemaMaxLength(1024)]
    public string? Image { get; set; }

    /// <summary>Pull policy of the agent image: Always, IfNotPresent or Never.</summary>
    [JsonPropertyName("imagePullPolicy")]
    [SchemaEnum("Always", "IfNotPresent", "Never")]
    public string? ImagePullPolicy { get; set; }

    /// <summary>Compute resources of the agent container.</summary>
    [JsonPropertyName("resources")]
    public V1ResourceRequirements? Resources { get; set; }
}

/// <summary>
/// Raft timing. The heartbeat interval must be below half the election timeout, so a follower sees at least two
/// heartbeats before it starts an election. A failed leader is replaced after about one to two election timeouts.
/// </summary>
[CelRule("duration(self.heartbeatInterval) + duration(self.heartbeatInterval) < duration(self.electionTimeout)",
    "heartbeatInterval must be less than half of electionTimeout (for example 50ms and 500ms)", FieldPath = ".heartbeatInterval")]
public sealed class TimingSpec
{
    /// <summary>How often the leader sends heartbeats, as a duration such as 50ms (the default). Between 10ms and 10s. Nodes that pause for long (an overloaded node, slow disks) need a longer one, such as 100ms.</summary>
    [JsonPropertyName("heartbeatInterval")]
    [SchemaPattern(Durations.Pattern)]
    [SchemaMaxLength(32)]
    [SchemaDefault("\"50ms\"")]
    [CelRule("duration(self) >= duration('10ms') && duration(self) <= duration('10s')", "heartbeatInterval must be between 10ms and 10s")]
    public string? HeartbeatInterval { get; set; }

    /// <summary>How long a follower waits without hearing from a leader before it campaigns, as a duration such as 500ms (the default): a failed leader is replaced in about one to two of these. Between 50ms and 60s; keep it above the longest pause a node may take, such as 1s on busy nodes.</summary>
    [JsonPropertyName("electionTimeout")]
    [SchemaPattern(Durations.Pattern)]
    [SchemaMaxLength(32)]
    [SchemaDefault("\"500ms\"")]
    [CelRule("duration(self) >= duration('50ms') && duration(self) <= duration('60s')", "electionTimeout must be between 50ms and 60s")]
    public string? ElectionTimeout { get; set; }
}

/// <summary>Persistent storage of each agent.</summary>
public sealed class StorageSpec
{
    /// <summary>Size of each agent's volume (a Kubernetes quantity such as 1Gi). Immutable.</summary>
    [JsonPropertyName("size")]
    [SchemaPattern(Quantities.Pattern)]
    [SchemaMaxLength(32)]
    [SchemaDefault("\"1Gi\"")]
    public string? Size { get; set; }

    /// <summary>Storage class of the volumes; when empty, the cluster's default class. Immutable.</summary>
    [JsonPropertyName("storageClassName")]
    [SchemaMaxLength(253)]
    public string? StorageClassName { get; set; }
}

/// <summary>How an agent probes its application container (modelled on Kubernetes probes).</summary>
[CelRule("self.kind == 'none' || has(self.port)", "probe.port is required when probe.kind is http, tcp or grpc", FieldPath = ".port")]
[CelRule("self.kind != 'http' || has(self.path)", "probe.path is required when probe.kind is http", FieldPath = ".path")]
[CelRule("duration(self.timeout) <= duration(self.period)", "probe.timeout must not exceed probe.period", FieldPath = ".timeout")]
public sealed class ProbeSpec
{
    /// <summary>Probe kind: http (GET path, 2xx/3xx passes), tcp (connect), grpc (grpc.health.v1) or none (always passing).</summary>
    [JsonPropertyName("kind")]
    [SchemaEnum(ProbeKinds.Http, ProbeKinds.Tcp, ProbeKinds.Grpc, ProbeKinds.None)]
    [SchemaDefault("\"none\"")]
    public string? Kind { get; set; }

    /// <summary>HTTP path to probe, such as /healthz (http only).</summary>
    [JsonPropertyName("path")]
    [SchemaPattern("^/.*$")]
    [SchemaMaxLength(1024)]
    public string? Path { get; set; }

    /// <summary>Port of the application on 127.0.0.1.</summary>
    [JsonPropertyName("port")]
    [SchemaRange(1, 65535)]
    public int? Port { get; set; }

    /// <summary>Time between probes, as a duration.</summary>
    [JsonPropertyName("period")]
    [SchemaPattern(Durations.Pattern)]
    [SchemaMaxLength(32)]
    [SchemaDefault("\"5s\"")]
    public string? Period { get; set; }

    /// <summary>Time a probe may take before it counts as failed, as a duration; at most the period.</summary>
    [JsonPropertyName("timeout")]
    [SchemaPattern(Durations.Pattern)]
    [SchemaMaxLength(32)]
    [SchemaDefault("\"1s\"")]
    public string? Timeout { get; set; }

    /// <summary>Time after the agent starts before the first probe, as a duration.</summary>
    [JsonPropertyName("initialDelay")]
    [SchemaPattern(Durations.Pattern)]
    [SchemaMaxLength(32)]
    [SchemaDefault("\"0s\"")]
    public string? InitialDelay { get; set; }

    /// <summary>Consecutive passing probes that make a failing application healthy again.</summary>
    [JsonPropertyName("successThreshold")]
    [SchemaRange(1, 100)]
    [SchemaDefault("1")]
    public int? SuccessThreshold { get; set; }

    /// <summary>Consecutive failing probes that make the application critical.</summary>
    [JsonPropertyName("failureThreshold")]
    [SchemaRange(1, 100)]
    [SchemaDefault("3")]
    public int? FailureThreshold { get; set; }
}

/// <summary>The probe kinds an agent understands.</summary>
public static class ProbeKinds
{
    /// <summary>HTTP GET.</summary>
    public const string Http = "http";

    /// <summary>TCP connect.</summary>
    public const string Tcp = "tcp";

    /// <summary>grpc.health.v1 Check.</summary>
    public const string Grpc = "grpc";

    /// <summary>No probe: always passing.</summary>
    public const string None = "none";
}

/// <summary>
/// Mutual TLS on each agent's peer port 7400: Raft between the agents and the kuorum.v1.Admin calls the operator
/// makes. Every agent presents a certificate and accepts only peers (and the operator) whose certificate chains to the
/// cluster's CA, and checks that a peer's certificate names the peer's DNS name under the headless Service
/// (NAME-0.NAME-peers.NAMESPACE.svc.cluster.local).
/// </summary>
[CelRule("self.mode != 'Secret' || has(self.secretName)", "tls.secretName is required when tls.mode is Secret", FieldPath = ".secretName")]
public sealed class TlsSpec
{
    /// <summary>
    /// Auto (the default): the operator creates a CA for the cluster (ECDSA P-256, 10 years, kept in the Secret
    /// NAME-ca) and a peer certificate signed by it (ECDSA P-256, 1 year, renewed when less than a third of its life
    /// remains, kept in the kubernetes.io/tls Secret NAME-tls with tls.crt, tls.key and ca.crt). Secret: mutual TLS with
    /// the certificate you supply in the kubernetes.io/tls Secret secretName (for example from cert-manager). Disabled:
    /// plain HTTP/2 between agents. Changing the mode restarts the pods.
    /// </summary>
    [JsonPropertyName("mode")]
    [SchemaEnum(TlsModes.Auto, TlsModes.Secret, TlsModes.Disabled)]
    [SchemaDefault("\"Auto\"")]
    public string? Mode { get; set; }

    /// <summary>
    /// Mode Secret: a kubernetes.io/tls Secret in the cluster's namespace holding tls.crt (the peer certificate, with
    /// serverAuth and clientAuth usages and the DNS name *.NAME-peers.NAMESPACE.svc.cluster.local), tls.key (its
    /// private key, PEM: PKCS#8, EC or RSA, unencrypted) and ca.crt (the CA that signed it). The agents re-read the files when the Secret changes.
    /// </summary>
    [JsonPropertyName("secretName")]
    [SchemaMaxLength(253)]
    public string? SecretName { get; set; }
}

/// <summary>TLS modes.</summary>
public static class TlsModes
{
    /// <summary>Mutual TLS with a CA and certificate the operator issues and renews.</summary>
    public const string Auto = "Auto";

    /// <summary>Mutual TLS with a user-provided Secret.</summary>
    public const string Secret = "Secret";

    /// <summary>No TLS between agents.</summary>
    public const string Disabled = "Disabled";
}
