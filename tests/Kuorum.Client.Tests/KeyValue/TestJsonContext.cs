using System.Text.Json.Serialization;

namespace Kuorum.Client.Tests.KeyValue;

public sealed record ServiceConfig(string Name, int Replicas);

[JsonSerializable(typeof(ServiceConfig))]
internal sealed partial class TestJsonContext : JsonSerializerContext;
