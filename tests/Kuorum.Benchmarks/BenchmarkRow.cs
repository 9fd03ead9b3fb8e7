using System.Text.Json.Serialization;

namespace Kuorum.Benchmarks;

/// <summary>
/// One result of <c>make bench</c>, in the shape every suite writes: <c>system</c>, <c>scenario</c>, <c>clients</c>
/// (concurrent callers; 1 for a single-threaded loop), <c>ops_per_sec</c>, <c>p50_ms</c>, <c>p99_ms</c> and
/// <c>samples</c> (how many measurements the percentiles are over). The optional fields are written only where they
/// mean something: <c>max_ms</c> for distributions with few samples (failover), <c>errors</c> for calls that failed
/// during a load point, and the <c>*_vs_etcd</c> ratios (Kuorum's figure divided by etcd's, same row of the same run).
/// </summary>
public sealed record BenchmarkRow(
    [property: JsonPropertyName("system")] string System,
    [property: JsonPropertyName("scenario")] string Scenario,
    [property: JsonPropertyName("ops_per_sec")] double OpsPerSecond,
    [property: JsonPropertyName("p50_ms")] double P50Milliseconds,
    [property: JsonPropertyName("p99_ms")] double P99Milliseconds,
    [property: JsonPropertyName("clients")] int? Clients = null,
    [property: JsonPropertyName("samples")] long? Samples = null)
{
    /// <summary>The suite that produced the row (core, storage, cluster).</summary>
    [JsonPropertyName("suite")]
    public string? Suite { get; init; }

    /// <summary>The largest sample, where the distribution is small enough for it to matter.</summary>
    [JsonPropertyName("max_ms")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? MaxMilliseconds { get; init; }

    /// <summary>Calls that failed (deadline, unavailable) while the row was measured; they are not in the percentiles.</summary>
    [JsonPropertyName("errors")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? Errors { get; init; }

    /// <summary>Kuorum's ops/s over etcd's on the same scenario and clients (above 1: Kuorum does more).</summary>
    [JsonPropertyName("ops_per_sec_vs_etcd")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? OpsRatio { get; init; }

    /// <summary>Kuorum's p50 over etcd's (below 1: Kuorum is faster).</summary>
    [JsonPropertyName("p50_vs_etcd")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? P50Ratio { get; init; }

    /// <summary>Kuorum's p99 over etcd's (below 1: Kuorum is faster).</summary>
    [JsonPropertyName("p99_vs_etcd")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? P99Ratio { get; init; }

    /// <summary>Health suite: the row's calls/s over round-robin's in the same run (above 1: more).</summary>
    [JsonPropertyName("ops_per_sec_vs_round_robin")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? OpsVsRoundRobin { get; init; }

    /// <summary>Health suite: the row's p50 over round-robin's (below 1: faster).</summary>
    [JsonPropertyName("p50_vs_round_robin")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? P50VsRoundRobin { get; init; }

    /// <summary>Health suite: the row's p99 over round-robin's (below 1: faster).</summary>
    [JsonPropertyName("p99_vs_round_robin")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? P99VsRoundRobin { get; init; }

    /// <summary>Health suite: the share of the row's calls the slow replica served.</summary>
    [JsonPropertyName("slow_replica_share")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? SlowReplicaShare { get; init; }
}
