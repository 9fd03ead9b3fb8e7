using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Models;
using Kuorum.Operator.Resources;
using Kuorum.Operator.Tls;

namespace Kuorum.Operator.Reconciliation;

/// <summary>The objects a ConsensusCluster owns, as they should be. Pure: the same input gives the same objects.</summary>
internal sealed class DesiredObjects
{
    /// <summary>0440: the TLS files are readable by their owner (root) and the pod's fsGroup, which the agent runs in.</summary>
    public const int TlsFileMode = 0b100_100_000;

    private readonly ConsensusCluster _cluster;
    private readonly EffectiveSpec _spec;
    private readonly ClusterNames _names;
    private readonly int _bootstrapMembers;

    public DesiredObjects(ConsensusCluster cluster, EffectiveSpec spec, int bootstrapMembers)
    {
        _cluster = cluster;
        _spec = spec;
        _names = new ClusterNames(cluster);
        _bootstrapMembers = bootstrapMembers;
    }

    public ClusterNames Names => _names;

    public V1ConfigMap ConfigMap() => new()
    {
        ApiVersion = "v1",
        Kind = "ConfigMap",
        Metadata = Metadata(_names.ConfigMap),
        Data = new Dictionary<string, string>(_spec.AgentEnvironment(_names, _bootstrapMembers)),
    };

    public V1ServiceAccount ServiceAccount() => new()
    {
        ApiVersion = "v1",
        Kind = "ServiceAccount",
        Metadata = Metadata(_names.ServiceAccount),
    };

    /// <summary>Lets an agent read and label its own pod: only the pods this cluster can ever have, and only get and patch.</summary>
    public V1Role Role() => new()
    {
        ApiVersion = "rbac.authorization.k8s.io/v1",
        Kind = "Role",
        Metadata = Metadata(_names.Role),
        Rules =
        [
            new V1PolicyRule
            {
                ApiGroups = [""],
                Resources = ["pods"],
                Verbs = ["get", "patch"],
                ResourceNames = Enumerable.Range(0, ConsensusClusterSpec.MaxReplicas).Select(_names.Pod).ToList(),
            },
        ],
    };

    public V1RoleBinding RoleBinding() => new()
    {
        ApiVersion = "rbac.authorization.k8s.io/v1",
        Kind = "RoleBinding",
        Metadata = Metadata(_names.RoleBinding),
        RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = _names.Role },
        Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = _names.ServiceAccount, NamespaceProperty = _names.Namespace }],
    };

    /// <summary>The headless Service that gives each pod its stable DNS name, published before the pod is ready (peers must find a starting agent).</summary>
    public V1Service PeerService() => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = Metadata(_names.PeerService),
        Spec = new V1ServiceSpec
        {
            ClusterIP = "None",
            PublishNotReadyAddresses = true,
            Selector = _names.Selector(),
            Ports =
            [
                new V1ServicePort { Name = "peer", Port = ClusterNames.PeerPort, TargetPort = ClusterNames.PeerPort, Protocol = "TCP" },
                new V1ServicePort { Name = "kuorum-admin", Port = ClusterNames.AdminPort, TargetPort = ClusterNames.AdminPort, Protocol = "TCP" },
            ],
        },
    };

    /// <summary>Routes to the pod its agent labelled <c>kuorum.io/role=leader</c>.</summary>
    public V1Service LeaderService()
    {
        var selector = _names.Selector();
        selector[ClusterNames.RoleLabel] = ClusterNames.LeaderRole;
        return new V1Service
        {
            ApiVersion = "v1",
            Kind = "Service",
            Metadata = Metadata(_names.LeaderService),
            Spec = new V1ServiceSpec { Selector = selector, Ports = ApplicationPorts() },
        };
    }

    /// <summary>Routes to every ready replica.</summary>
    public V1Service ClientService() => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = Metadata(_names.ClientService),
        Spec = new V1ServiceSpec { Selector = _names.Selector(), Ports = ApplicationPorts() },
    };

    /// <summary>Allows voluntary disruptions only while a quorum stays up; unhealthy pods may always be evicted.</summary>
    public V1PodDisruptionBudget DisruptionBudget() => new()
    {
        ApiVersion = "policy/v1",
        Kind = "PodDisruptionBudget",
        Metadata = Metadata(_names.DisruptionBudget),
        Spec = new V1PodDisruptionBudgetSpec
        {
            MinAvailable = (_spec.Replicas / 2) + 1,
            Selector = new V1LabelSelector { MatchLabels = _names.Selector() },
            UnhealthyPodEvictionPolicy = "AlwaysAllow",
        },
    };

    public V1StatefulSet StatefulSet(int replicas, V1ConfigMap config)
    {
        var template = Clone(_spec.Template);
        template.Metadata ??= new V1ObjectMeta();
        template.Metadata.Labels = Merge(template.Metadata.Labels, _names.Labels());
        template.Metadata.Annotations = Merge(template.Metadata.Annotations, new Dictionary<string, string>
        {
            [ClusterNames.ConfigHashAnnotation] = Hash(config.Data),
        });

        var pod = template.Spec ??= new V1PodSpec();
        pod.ServiceAccountName = _names.ServiceAccount;

        // The data volume is writable by the agent's group (the image runs as 65532:65532): without fsGroup a fresh
        // volume is root's and the non-root agent could not write /var/lib/kuorum. The application's own settings win.
        pod.SecurityContext ??= new V1PodSecurityContext();
        pod.SecurityContext.FsGroup ??= ClusterNames.AgentUserId;
        pod.SecurityContext.FsGroupChangePolicy ??= "OnRootMismatch";
        pod.TerminationGracePeriodSeconds ??= ClusterNames.TerminationGracePeriodSeconds;
        pod.Volumes = [.. (pod.Volumes ?? []).Where(v => v.Name is not (ClusterNames.RunVolume or ClusterNames.TlsVolume)),
            new V1Volume { Name = ClusterNames.RunVolume, EmptyDir = new V1EmptyDirVolumeSource() }];
        if (_spec.PeerTlsSecret(_names) is { } tlsSecret)
        {
            // Only the three keys the agent reads, readable by the agent's group (fsGroup) and no one else.
            pod.Volumes.Add(new V1Volume
            {
                Name = ClusterNames.TlsVolume,
                Secret = new V1SecretVolumeSource
                {
                    SecretName = tlsSecret,
                    DefaultMode = TlsFileMode,
                    Items = [.. TlsKeys.All.Select(k => new V1KeyToPath { Key = k, Path = k })],
                },
            });
        }

        foreach (var container in pod.Containers ?? [])
        {
            container.VolumeMounts = [.. (container.VolumeMounts ?? []).Where(m => m.Name != ClusterNames.RunVolume),
                new V1VolumeMount { Name = ClusterNames.RunVolume, MountPath = ClusterNames.RunDir }];
        }

        pod.InitContainers = [AgentContainer(config), .. (pod.InitContainers ?? []).Where(c => c.Name != ClusterNames.AgentContainer)];

        var labels = _names.Labels();
        var meta = Metadata(_names.StatefulSet);
        meta.Annotations = new Dictionary<string, string>
        {
            [ClusterNames.BootstrapAnnotation] = _bootstrapMembers.ToString(CultureInfo.InvariantCulture),
        };
        return new V1StatefulSet
        {
            ApiVersion = "apps/v1",
            Kind = "StatefulSet",
            Metadata = meta,
            Spec = new V1StatefulSetSpec
            {
                Replicas = replicas,
                ServiceName = _names.PeerService,
                Selector = new V1LabelSelector { MatchLabels = _names.Selector() },
                // Parallel: a Raft cluster needs a quorum of pods up before any is ready; OrderedReady would wait forever.
                PodManagementPolicy = "Parallel",
                UpdateStrategy = new V1StatefulSetUpdateStrategy { Type = "RollingUpdate" },
                // A removed member's data goes with its pod, so a later scale-up starts that ordinal empty, as a learner.
                PersistentVolumeClaimRetentionPolicy = new V1StatefulSetPersistentVolumeClaimRetentionPolicy
                {
                    WhenDeleted = "Retain",
                    WhenScaled = "Delete",
                },
                Template = template,
                VolumeClaimTemplates =
                [
                    new V1PersistentVolumeClaim
                    {
                        ApiVersion = "v1",
                        Kind = "PersistentVolumeClaim",
                        Metadata = new V1ObjectMeta { Name = ClusterNames.DataVolume, Labels = labels },
                        Spec = new V1PersistentVolumeClaimSpec
                        {
                            AccessModes = ["ReadWriteOnce"],
                            StorageClassName = _spec.StorageClassName,
                            Resources = new V1VolumeResourceRequirements
                            {
                                Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new ResourceQuantity(_spec.StorageSize) },
                            },
                        },
                    },
                ],
            },
        };
    }

    /// <summary>
    /// The agent as a native sidecar: an init container with restartPolicy Always starts before the application and
    /// runs beside it. No preStop hook: on SIGTERM the agent itself transfers leadership before exiting, within the
    /// pod's termination grace period.
    /// </summary>
    private V1Container AgentContainer(V1ConfigMap config) => new()
    {
        Name = ClusterNames.AgentContainer,
        Image = _spec.AgentImage,
        ImagePullPolicy = _spec.AgentImagePullPolicy,
        RestartPolicy = "Always",
        Ports =
        [
            new V1ContainerPort { Name = "peer", ContainerPort = ClusterNames.PeerPort, Protocol = "TCP" },
            new V1ContainerPort { Name = "kuorum-admin", ContainerPort = ClusterNames.AdminPort, Protocol = "TCP" },
        ],
        Env =
        [
            new V1EnvVar { Name = "KUORUM_POD_NAME", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.name" } } },
            new V1EnvVar { Name = "KUORUM_POD_NAMESPACE", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.namespace" } } },
        ],
        EnvFrom = [new V1EnvFromSource { ConfigMapRef = new V1ConfigMapEnvSource { Name = config.Metadata.Name } }],
        VolumeMounts = AgentMounts(),
        Resources = _spec.AgentResources,
        StartupProbe = HttpProbe("/readyz", periodSeconds: 1, failureThreshold: 600),
        ReadinessProbe = HttpProbe("/readyz", periodSeconds: 2, failureThreshold: 2),
        LivenessProbe = HttpProbe("/healthz", periodSeconds: 5, failureThreshold: 3),
        // The restricted Pod Security Standard: non-root (the image's uid 65532), no privilege escalation, no
        // capabilities, the runtime's default seccomp profile, and a read-only root (it writes only its volumes).
        SecurityContext = new V1SecurityContext
        {
            RunAsNonRoot = true,
            RunAsUser = ClusterNames.AgentUserId,
            RunAsGroup = ClusterNames.AgentUserId,
            AllowPrivilegeEscalation = false,
            ReadOnlyRootFilesystem = true,
            Capabilities = new V1Capabilities { Drop = ["ALL"] },
            SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
        },
    };

    /// <summary>The data volume, the shared run directory and, under TLS, the Secret read-only at /etc/kuorum/tls.</summary>
    private List<V1VolumeMount> AgentMounts()
    {
        List<V1VolumeMount> mounts =
        [
            new V1VolumeMount { Name = ClusterNames.DataVolume, MountPath = ClusterNames.DataDir },
            new V1VolumeMount { Name = ClusterNames.RunVolume, MountPath = ClusterNames.RunDir },
        ];
        if (_spec.TlsEnabled)
        {
            mounts.Add(new V1VolumeMount { Name = ClusterNames.TlsVolume, MountPath = ClusterNames.TlsDir, ReadOnlyProperty = true });
        }

        return mounts;
    }

    private static V1Probe HttpProbe(string path, int periodSeconds, int failureThreshold) => new()
    {
        HttpGet = new V1HTTPGetAction { Path = path, Port = ClusterNames.AdminPort },
        PeriodSeconds = periodSeconds,
        FailureThreshold = failureThreshold,
        TimeoutSeconds = 1,
    };

    private List<V1ServicePort> ApplicationPorts()
    {
        var ports = (_spec.Template.Spec?.Containers ?? [])
            .SelectMany(c => c.Ports ?? [])
            .Where(p => p.ContainerPort != ClusterNames.AdminPort)
            .Select(p => new V1ServicePort
            {
                Name = p.Name ?? "port-" + p.ContainerPort.ToString(CultureInfo.InvariantCulture),
                Port = p.ContainerPort,
                TargetPort = p.ContainerPort,
                Protocol = p.Protocol ?? "TCP",
            })
            .DistinctBy(p => (p.Port, p.Protocol))
            .ToList();
        ports.Add(new V1ServicePort { Name = "kuorum-admin", Port = ClusterNames.AdminPort, TargetPort = ClusterNames.AdminPort, Protocol = "TCP" });
        return ports;
    }

    private V1ObjectMeta Metadata(string name) => new()
    {
        Name = name,
        NamespaceProperty = _names.Namespace,
        Labels = _names.Labels(),
        OwnerReferences = [OwnerReference(_cluster)],
    };

    public static V1OwnerReference OwnerReference(ConsensusCluster cluster) => new()
    {
        ApiVersion = ConsensusCluster.GroupVersion,
        Kind = ConsensusCluster.KindName,
        Name = cluster.Metadata.Name,
        Uid = cluster.Metadata.Uid,
        Controller = true,
        BlockOwnerDeletion = true,
    };

    private static Dictionary<string, string> Merge(IDictionary<string, string>? first, IDictionary<string, string> second)
    {
        var merged = new Dictionary<string, string>(first ?? new Dictionary<string, string>());
        foreach (var (key, value) in second)
        {
            merged[key] = value;
        }

        return merged;
    }

    private static T Clone<T>(T value) => KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(value));

    private static string Hash(IDictionary<string, string> data)
    {
        var text = new StringBuilder();
        foreach (var (key, value) in data.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            text.Append(key).Append('=').Append(value).Append('\n');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16];
    }
}
