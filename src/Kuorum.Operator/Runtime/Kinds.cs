using k8s;
using k8s.Models;
using Kuorum.Operator.Resources;

namespace Kuorum.Operator.Runtime;

/// <summary>The kinds the operator reads and writes.</summary>
internal static class Kinds
{
    public const string FieldManager = "kuorum-operator";

    public static readonly ResourceKind<ConsensusCluster, ConsensusClusterList> ConsensusClusters = new()
    {
        Name = ConsensusCluster.Plural,
        List = (c, ns, r, ct) => ns is null
            ? c.CustomObjects.ListClusterCustomObjectWithHttpMessagesAsync<ConsensusClusterList>(
                ConsensusCluster.ApiGroup, ConsensusCluster.ApiVersionName, ConsensusCluster.Plural,
                allowWatchBookmarks: r.Watch ? true : null, continueParameter: r.Continue, labelSelector: r.LabelSelector,
                limit: r.Limit, resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch ? true : null,
                cancellationToken: ct)
            : c.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync<ConsensusClusterList>(
                ConsensusCluster.ApiGroup, ConsensusCluster.ApiVersionName, ns, ConsensusCluster.Plural,
                allowWatchBookmarks: r.Watch ? true : null, continueParameter: r.Continue, labelSelector: r.LabelSelector,
                limit: r.Limit, resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch ? true : null,
                cancellationToken: ct),
        Get = (c, ns, name, ct) => c.CustomObjects.GetNamespacedCustomObjectAsync<ConsensusCluster>(
            ConsensusCluster.ApiGroup, ConsensusCluster.ApiVersionName, ns, ConsensusCluster.Plural, name, ct),
        Create = (c, o, ct) => c.CustomObjects.CreateNamespacedCustomObjectAsync<ConsensusCluster>(
            o, ConsensusCluster.ApiGroup, ConsensusCluster.ApiVersionName, o.Metadata.NamespaceProperty, ConsensusCluster.Plural,
            fieldManager: FieldManager, cancellationToken: ct),
        Replace = (c, o, ct) => c.CustomObjects.ReplaceNamespacedCustomObjectAsync<ConsensusCluster>(
            o, ConsensusCluster.ApiGroup, ConsensusCluster.ApiVersionName, o.Metadata.NamespaceProperty, ConsensusCluster.Plural,
            o.Metadata.Name, fieldManager: FieldManager, cancellationToken: ct),
        Delete = (c, ns, name, ct) => c.CustomObjects.DeleteNamespacedCustomObjectAsync(
            ConsensusCluster.ApiGroup, ConsensusCluster.ApiVersionName, ns, ConsensusCluster.Plural, name, cancellationToken: ct),
    };

    public static readonly ResourceKind<V1StatefulSet, V1StatefulSetList> StatefulSets = new()
    {
        Name = "statefulsets",
        List = (c, ns, r, ct) => ns is null
            ? c.AppsV1.ListStatefulSetForAllNamespacesWithHttpMessagesAsync(allowWatchBookmarks: r.Watch ? true : null, continueParameter: r.Continue,
                labelSelector: r.LabelSelector, limit: r.Limit, resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch ? true : null, cancellationToken: ct)
            : c.AppsV1.ListNamespacedStatefulSetWithHttpMessagesAsync(ns, allowWatchBookmarks: r.Watch ? true : null, continueParameter: r.Continue,
                labelSelector: r.LabelSelector, limit: r.Limit, resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch ? true : null, cancellationToken: ct),
        Get = (c, ns, name, ct) => c.AppsV1.ReadNamespacedStatefulSetAsync(name, ns, cancellationToken: ct),
        Create = (c, o, ct) => c.AppsV1.CreateNamespacedStatefulSetAsync(o, o.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: ct),
        Replace = (c, o, ct) => c.AppsV1.ReplaceNamespacedStatefulSetAsync(o, o.Metadata.Name, o.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: ct),
        Delete = (c, ns, name, ct) => c.AppsV1.DeleteNamespacedStatefulSetAsync(name, ns, cancellationToken: ct),
    };

    public static readonly ResourceKind<V1Service, V1ServiceList> Services = new()
    {
        Name = "services",
        List = (c, ns, r, ct) => ns is null
            ? c.CoreV1.ListServiceForAllNamespacesWithHttpMessagesAsync(allowWatchBookmarks: r.Watch ? true : null, continueParameter: r.Continue,
                labelSelector: r.LabelSelector, limit: r.Limit, resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch ? true : null, cancellationToken: ct)
            : c.CoreV1.ListNamespacedServiceWithHttpMessagesAsync(ns, allowWatchBookmarks: r.Watch ? true : null, continueParameter: r.Continue,
                labelSelector: r.LabelSelector, limit: r.Limit, resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch ? true : null, cancellationToken: ct),
        Get = (c, ns, name, ct) => c.CoreV1.ReadNamespacedServiceAsync(name, ns, cancellationToken: ct),
        Create = (c, o, ct) => c.CoreV1.CreateNamespacedServiceAsync(o, o.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: ct),
        Replace = (c, o, ct) => c.CoreV1.ReplaceNamespacedServiceAsync(o, o.Metadata.Name, o.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: ct),
        Delete = (c, ns, name, ct) => c.CoreV1.DeleteNamespacedServiceAsync(name, ns, cancellationToken: ct),
    };

    public static readonly ResourceKind<V1ConfigMap, V1ConfigMapList> ConfigMaps = new()
    {
        Name = "configmaps",
        List = (c, ns, r, ct) => ns is null
            ? c.CoreV1.ListConfigMapForAllNamespacesWithHttpMessagesAsync(allowWatchBookmarks: r.Watch ? true : null, continueParameter: r.Continue,
                labelSelector: r.LabelSelector, limit: r.Limit, resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch ? true : null, cancellationToken: ct)
            : c.CoreV1.ListNamespacedConfigMapWithHttpMessagesAsync(ns, allowWatchBookmarks: r.Watch ? true : null, continueParameter: r.Continue,
                labelSelector: r.LabelSelector, limit: r.Limit, resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch ? true : null, cancellationToken: ct),
        Get = (c, ns, name, ct) => c.CoreV1.ReadNamespacedConfigMapAsync(name, ns, cancellationToken: ct),
        Create = (c, o, ct) => c.CoreV1.CreateNamespacedConfigMapAsync(o, o.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: ct),
        Replace = (c, o, ct) => c.CoreV1.ReplaceNamespacedConfigMapAsync(o, o.Metadata.Name, o.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: ct),
        Delete = (c, ns, name, ct) => c.CoreV1.DeleteNamespacedConfigMapAsync(name, ns, cancellationToken: ct),
    };

    public static readonly ResourceKind<V1Secret, V1SecretList> Secrets = new()
    {
        Name = "secrets",
        List = (c, ns, r, ct) => ns is null
            ? c.CoreV1.ListSecretForAllNamespacesWithHttpMessagesAsync(allowWatchBookmarks: r.Watch ? true : null, continueParameter: r.Continue,
                labelSelector: r.LabelSelector, limit: r.Limit, resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch ? true : null, cancellationToken: ct)
            : c.CoreV1.ListNamespacedSecretWithHttpMessagesAsync(ns, allowWatchBookmarks: r.Watch ? true : null, continueParameter: r.Continue,
                labelSelector: r.LabelSelector, limit: r.Limit, resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch ? true : null, cancellationToken: ct),
        Get = (c, ns, name, ct) => c.CoreV1.ReadNamespacedSecretAsync(name, ns, cancellationToken: ct),
        Create = (c, o, ct) => c.CoreV1.CreateNamespacedSecretAsync(o, o.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: ct),
        Replace = (c, o, ct) => c.CoreV1.ReplaceNamespacedSecretAsync(o, o.Metadata.Name, o.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: ct),
        Delete = (_, _, _, _) => throw new NotSupportedException("the operator never deletes Secrets (its RBAC has no delete on secrets)"),
    };

    public static readonly ResourceKind<V1ServiceAccount, V1ServiceAccountList> ServiceAccounts = new()
    {
        Name = "serviceaccounts",
        List = (c, ns, r, ct) => ns is null
            ? c.CoreV1.ListServiceAccountForAllNamespacesWithHttpMessagesAsync(allowWatchBookmarks: r.Watch ? true : null, continueParameter: r.Continue,
                labelSelector: r.LabelSelector, limit: r.Limit, resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch ? true : null, cancellationToken: ct)
            : c.CoreV1.ListNamespacedServiceAccountWithHttpMessagesAsync(ns, allowWatchBookmarks: r.Watch ? true : null, continueParameter: r.Continue,
                labelSelector: r.LabelSelector, limit: r.Limit, resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch ? true : null, cancellationToken: ct),
        Get = (c, ns, name, ct) => c.CoreV1.ReadNamespacedServiceAccountAsync(name, ns, cancellationToken: ct),
        Create = (c, o, ct) => c.CoreV1.CreateNamespacedServiceAccountAsync(o, o.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: ct),
        Replace = (c, o, ct) => c.CoreV1.ReplaceNamespacedServiceAccountAsync(o, o.Metadata.Name, o.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: ct),
        Delete = (c, ns, name, ct) => c.CoreV1.DeleteNamespacedServiceAccountAsync(name, ns, cancellationToken: ct),
    };

    public static readonly ResourceKind<V1Role, V1RoleList> Roles = new()
    {
        Name = "roles",
        List = (c, ns, r, ct) => ns is null
            ? c.RbacAuthorizationV1.ListRoleForAllNamespacesWithHttpMessagesAsync(allowWatchBookmarks: r.Watch ? true : null, continueParameter: r.Continue,
                labelSelector: r.LabelSelector, limit: r.Limit, resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch ? true : null, cancellationToken: ct)
            : c.RbacAuthorizationV1.ListNamespacedRoleWithHttpMessagesAsync(ns, allowWatchBookmarks: r.Watch ? true : null, continueParameter: r.Continue,
                labelSelector: r.LabelSelector, limit: r.Limit, resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch ? true : null, cancellationToken: ct),
        Get = (c, ns, name, ct) => c.RbacAuthorizationV1.ReadNamespacedRoleAsync(name, ns, cancellationToken: ct),
        Create = (c, o, ct) => c.RbacAuthorizationV1.CreateNamespacedRoleAsync(o, o.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: ct),
        Replace = (c, o, ct) => c.RbacAuthorizationV1.ReplaceNamespacedRoleAsync(o, o.Metadata.Name, o.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: ct),
        Delete = (c, ns, name, ct) => c.RbacAuthorizationV1.DeleteNamespacedRoleAsync(name, ns, cancellationToken: ct),
    };

    public static readonly ResourceKind<V1RoleBinding, V1RoleBindingList> RoleBindings = new()
    {
        Name = "rolebindings",
        List = (c, ns, r, ct) => ns is null
            ? c.RbacAuthorizationV1.ListRoleBindingForAllNamespacesWithHttpMessagesAsync(allowWatchBookmarks: r.Watch ? true : null, continueParameter: r.Continue,
                labelSelector: r.LabelSelector, limit: r.Limit, resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch ? true : null, cancellationToken: ct)
            : c.RbacAuthorizationV1.ListNamespacedRoleBindingWithHttpMessagesAsync(ns, allowWatchBookmarks: r.Watch ? true : null, continueParameter: r.Continue,
                labelSelector: r.LabelSelector, limit: r.Limit, resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch ? true : null, cancellationToken: ct),
        Get = (c, ns, name, ct) => c.RbacAuthorizationV1.ReadNamespacedRoleBindingAsync(name, ns, cancellationToken: ct),
        Create = (c, o, ct) => c.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(o, o.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: ct),
        Replace = (c, o, ct) => c.RbacAuthorizationV1.ReplaceNamespacedRoleBindingAsync(o, o.Metadata.Name, o.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: ct),
        Delete = (c, ns, name, ct) => c.RbacAuthorizationV1.DeleteNamespacedRoleBindingAsync(name, ns, cancellationToken: ct),
    };

    public static readonly ResourceKind<V1PodDisruptionBudget, V1PodDisruptionBudgetList> PodDisruptionBudgets = new()
    {
        Name = "poddisruptionbudgets",
        List = (c, ns, r, ct) => ns is null
            ? c.PolicyV1.ListPodDisruptionBudgetForAllNamespacesWithHttpMessagesAsync(allowWatchBookmarks: r.Watch ? true : null, continueParameter: r.Continue,
                labelSelector: r.LabelSelector, limit: r.Limit, resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch ? true : null, cancellationToken: ct)
            : c.PolicyV1.ListNamespacedPodDisruptionBudgetWithHttpMessagesAsync(ns, allowWatchBookmarks: r.Watch ? true : null, continueParameter: r.Continue,
                labelSelector: r.LabelSelector, limit: r.Limit, resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch ? true : null, cancellationToken: ct),
        Get = (c, ns, name, ct) => c.PolicyV1.ReadNamespacedPodDisruptionBudgetAsync(name, ns, cancellationToken: ct),
        Create = (c, o, ct) => c.PolicyV1.CreateNamespacedPodDisruptionBudgetAsync(o, o.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: ct),
        Replace = (c, o, ct) => c.PolicyV1.ReplaceNamespacedPodDisruptionBudgetAsync(o, o.Metadata.Name, o.Metadata.NamespaceProperty, fieldManager: FieldManager, cancellationToken: ct),
        Delete = (c, ns, name, ct) => c.PolicyV1.DeleteNamespacedPodDisruptionBudgetAsync(name, ns, cancellationToken: ct),
    };

    public static readonly ResourceKind<V1Pod, V1PodList> Pods = new()
    {
        Name = "pods",
        List = (c, ns, r, ct) => ns is null
            ? c.CoreV1.ListPodForAllNamespacesWithHttpMessagesAsync(allowWatchBookmarks: r.Watch ? true : null, continueParameter: r.Continue,
                labelSelector: r.LabelSelector, limit: r.Limit, resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch ? true : null, cancellationToken: ct)
            : c.CoreV1.ListNamespacedPodWithHttpMessagesAsync(ns, allowWatchBookmarks: r.Watch ? true : null, continueParameter: r.Continue,
                labelSelector: r.LabelSelector, limit: r.Limit, resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch ? true : null, cancellationToken: ct),
        Get = (c, ns, name, ct) => c.CoreV1.ReadNamespacedPodAsync(name, ns, cancellationToken: ct),
        Create = (_, _, _) => throw new NotSupportedException("the operator never creates pods"),
        Replace = (_, _, _) => throw new NotSupportedException("the operator never replaces pods"),
        Delete = (_, _, _, _) => throw new NotSupportedException("the operator never deletes pods"),
    };
}
