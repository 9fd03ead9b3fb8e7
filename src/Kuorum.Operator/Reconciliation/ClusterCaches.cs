using k8s.Models;
using Kuorum.Operator.Resources;
using Kuorum.Operator.Runtime;

namespace Kuorum.Operator.Reconciliation;

/// <summary>The informer caches the reconciler reads from.</summary>
internal sealed record ClusterCaches(
    ObjectCache<ConsensusCluster> Clusters,
    ObjectCache<V1StatefulSet> StatefulSets,
    ObjectCache<V1Service> Services,
    ObjectCache<V1ConfigMap> ConfigMaps,
    ObjectCache<V1Secret> Secrets,
    ObjectCache<V1ServiceAccount> ServiceAccounts,
    ObjectCache<V1Role> Roles,
    ObjectCache<V1RoleBinding> RoleBindings,
    ObjectCache<V1PodDisruptionBudget> DisruptionBudgets,
    ObjectCache<V1Pod> Pods);
