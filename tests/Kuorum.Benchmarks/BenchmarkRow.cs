using System.Text.Json.Serialization;

namespace Kuorum.Benchmarks;

/// <summary>One result of <c>make bench</c>, in the shape every suite writes.</summary>
public sealed record BenchmarkRow(
    [property: JsonPropertyName("system")] string System,
    [property: JsonPropertyName("scenario")] string Scenario,
    [property: JsonPropertyName("ops_per_sec")] double OpsPerSecond,
    [property: JsonPropertyName("p50_ms")] double P50Milliseconds,
    [property: JsonPropertyName("p99_ms")] double P99Milliseconds);
