using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace Kuorum.Operator.Resources;

/// <summary>
/// A replicated application with a Kuorum Raft sidecar in every pod: the operator runs the application's pods in a
/// StatefulSet, each beside a Kuorum agent that elects one leader, replicates a small consistent key-value state
/// and publishes weighted endpoints.
/// </summary>
[KubernetesEntity(Group = ApiGroup, ApiVersion = ApiVersionName, Kind = KindName, PluralName = Plural)]
public sealed class ConsensusCluster : IKubernetesObject<V1ObjectMeta>, ISpec<ConsensusClusterSpec>, IStatus<ConsensusClusterStatus?>
{
    /// <summary>The API group.</summary>
    public const string ApiGroup = "kuorum.io";

    /// <summary>The served version.</summary>
    public const string ApiVersionName = "v1alpha1";

    /// <summary>The kind.</summary>
    public const string KindName = "ConsensusCluster";

    /// <summary>The plural resource name.</summary>
    public const string Plural = "consensusclusters";

    /// <summary>The short name (<c>kubectl get cc</c>).</summary>
    public const string ShortName = "cc";

    /// <summary>The apiVersion written into objects.</summary>
    public const string GroupVersion = ApiGroup + "/" + ApiVersionName;

    /// <summary>APIVersion of the object.</summary>
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = GroupVersion;

    /// <summary>Kind of the object.</summary>
    [JsonPropertyName("kind")]
    public string Kind { get; set; } = KindName;

    /// <summary>Standard object metadata.</summary>
    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    /// <summary>The desired cluster.</summary>
    [JsonPropertyName("spec")]
    [SchemaRequired]
    public ConsensusClusterSpec Spec { get; set; } = new();

    /// <summary>The observed cluster, written by the operator.</summary>
    [JsonPropertyName("status")]
    public ConsensusClusterStatus? Status { get; set; }
}

/// <summary>A list of ConsensusClusters.</summary>
public sealed class ConsensusClusterList : IKubernetesObject<V1ListMeta>, IItems<ConsensusCluster>
{
    /// <summary>APIVersion of the list.</summary>
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = ConsensusCluster.GroupVersion;

    /// <summary>Kind of the list.</summary>
    [JsonPropertyName("kind")]
    public string Kind { get; set; } = ConsensusCluster.KindName + "List";

    /// <summary>List metadata.</summary>
    [JsonPropertyName("metadata")]
    public V1ListMeta Metadata { get; set; } = new();

    /// <summary>The clusters.</summary>
    [JsonPropertyName("items")]
    public IList<ConsensusCluster> Items { get; set; } = [];
}
