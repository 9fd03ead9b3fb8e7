using System.Text.Json.Serialization;
using k8s.Models;

namespace Kuorum.Operator.Resources;

/// <summary>The observed state of a ConsensusCluster.</summary>
public sealed class ConsensusClusterStatus
{
    /// <summary>The metadata.generation of the spec this status describes.</summary>
    [JsonPropertyName("observedGeneration")]
    public long? ObservedGeneration { get; set; }

    /// <summary>A one-word summary: Pending, Provisioning, Running, Scaling or Degraded. Conditions carry the detail.</summary>
    [JsonPropertyName("phase")]
    public string? Phase { get; set; }

    /// <summary>Pod name of the current Raft leader, as its agent reports it.</summary>
    [JsonPropertyName("leader")]
    public string? Leader { get; set; }

    /// <summary>The leader's term: its fencing token.</summary>
    [JsonPropertyName("term")]
    public long? Term { get; set; }

    /// <summary>Pods of the StatefulSet (the scale subresource reads this).</summary>
    [JsonPropertyName("replicas")]
    public int? Replicas { get; set; }

    /// <summary>Pods whose agent and application are ready.</summary>
    [JsonPropertyName("readyReplicas")]
    public int? ReadyReplicas { get; set; }

    /// <summary>Label selector of the pods (the scale subresource reads this).</summary>
    [JsonPropertyName("selector")]
    public string? Selector { get; set; }

    /// <summary>The Raft members as the leader sees them.</summary>
    [JsonPropertyName("members")]
    [ListMapKey("name")]
    public IList<MemberStatus>? Members { get; set; }

    /// <summary>Ready, Available, Progressing and Degraded.</summary>
    [JsonPropertyName("conditions")]
    [ListMapKey("type")]
    public IList<V1Condition>? Conditions { get; set; }
}

/// <summary>One Raft member.</summary>
public sealed class MemberStatus
{
    /// <summary>Pod name.</summary>
    [JsonPropertyName("name")]
    [SchemaRequired]
    public string Name { get; set; } = "";

    /// <summary>Raft node id (pod ordinal + 1).</summary>
    [JsonPropertyName("id")]
    public long? Id { get; set; }

    /// <summary>Leader, Follower, Candidate or Learner.</summary>
    [JsonPropertyName("role")]
    public string? Role { get; set; }

    /// <summary>Health tier of the member's application: passing, warning, critical or unknown.</summary>
    [JsonPropertyName("health")]
    public string? Health { get; set; }

    /// <summary>The member's weight in the endpoint table.</summary>
    [JsonPropertyName("weight")]
    public int? Weight { get; set; }

    /// <summary>Highest log index known to be replicated on the member.</summary>
    [JsonPropertyName("matchIndex")]
    public long? MatchIndex { get; set; }
}

/// <summary>Condition types of a ConsensusCluster.</summary>
public static class ConditionTypes
{
    /// <summary>Every replica is ready and a member, and a leader is known.</summary>
    public const string Ready = "Ready";

    /// <summary>A leader is elected: the cluster serves reads and writes.</summary>
    public const string Available = "Available";

    /// <summary>The operator is changing something: creating objects, rolling pods or changing membership.</summary>
    public const string Progressing = "Progressing";

    /// <summary>Something needs attention; the message says what to change.</summary>
    public const string Degraded = "Degraded";
}

/// <summary>Phases of a ConsensusCluster.</summary>
public static class Phases
{
    /// <summary>Accepted, nothing created yet.</summary>
    public const string Pending = "Pending";

    /// <summary>Objects created, pods starting or no leader yet.</summary>
    public const string Provisioning = "Provisioning";

    /// <summary>Ready.</summary>
    public const string Running = "Running";

    /// <summary>Changing the number of members.</summary>
    public const string Scaling = "Scaling";

    /// <summary>The spec cannot be applied or the cluster has no leader after it had one.</summary>
    public const string Degraded = "Degraded";
}
