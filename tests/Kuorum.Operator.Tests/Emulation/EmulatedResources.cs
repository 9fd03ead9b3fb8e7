namespace Kuorum.Operator.Tests.Emulation;

/// <summary>A resource the API server emulation serves.</summary>
/// <param name="Group">API group ("" for core).</param>
/// <param name="Version">Version.</param>
/// <param name="Plural">Resource name in paths.</param>
/// <param name="Kind">Kind of its objects.</param>
/// <param name="HasStatus">Whether it has a status subresource (writes to the main resource keep the status).</param>
/// <param name="HasScale">Whether it has a scale subresource.</param>
public sealed record EmulatedResource(string Group, string Version, string Plural, string Kind, bool HasStatus, bool HasScale)
{
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    public string Key => $"{Group}/{Plural}";
}

/// <summary>The resources the emulation knows: what the operator, its leader election and (later) the agent use.</summary>
public static class EmulatedResources
{
    public static readonly EmulatedResource Pods = new("", "v1", "pods", "Pod", true, false);
    public static readonly EmulatedResource Services = new("", "v1", "services", "Service", true, false);
    public static readonly EmulatedResource ConfigMaps = new("", "v1", "configmaps", "ConfigMap", false, false);
    public static readonly EmulatedResource Secrets = new("", "v1", "secrets", "Secret", false, false);
    public static readonly EmulatedResource ServiceAccounts = new("", "v1", "serviceaccounts", "ServiceAccount", false, false);
    public static readonly EmulatedResource Events = new("", "v1", "events", "Event", false, false);
    public static readonly EmulatedResource EventsV1 = new("events.k8s.io", "v1", "events", "Event", false, false);
    public static readonly EmulatedResource StatefulSets = new("apps", "v1", "statefulsets", "StatefulSet", true, true);
    public static readonly EmulatedResource DisruptionBudgets = new("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true, false);
    public static readonly EmulatedResource Roles = new("rbac.authorization.k8s.io", "v1", "roles", "Role", false, false);
    public static readonly EmulatedResource RoleBindings = new("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", false, false);
    public static readonly EmulatedResource Leases = new("coordination.k8s.io", "v1", "leases", "Lease", false, false);
    public static readonly EmulatedResource ConsensusClusters = new("kuorum.io", "v1alpha1", "consensusclusters", "ConsensusCluster", true, true);

    public static readonly IReadOnlyList<EmulatedResource> All =
    [
        Pods, Services, ConfigMaps, Secrets, ServiceAccounts, Events, EventsV1, StatefulSets, DisruptionBudgets, Roles, RoleBindings, Leases,
        ConsensusClusters,
    ];

    public static EmulatedResource? Find(string group, string version, string plural) =>
        All.FirstOrDefault(r => r.Group == group && r.Version == version && r.Plural == plural);
}
