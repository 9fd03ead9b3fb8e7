using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Kuorum.Api.V1;
using Kuorum.Client.Internal;

namespace Kuorum.Client;

/// <summary>A key with its value and metadata, as the store holds it.</summary>
public sealed class KeyValueEntry
{
    private readonly Record _record;

    internal KeyValueEntry(Record record)
    {
        _record = record;
        Key = new KuorumKey(record.Key);
    }

    /// <summary>The key.</summary>
    public KuorumKey Key { get; }

    /// <summary>The value's bytes (empty for a deletion event or a keys-only range).</summary>
    public ReadOnlyMemory<byte> Value => _record.Value.Memory;

    /// <summary>The revision at which the key was (re)created.</summary>
    public long CreateRevision => _record.CreateRevision;

    /// <summary>The revision of the last write to the key: the value to compare in a compare-and-swap.</summary>
    public long ModRevision => _record.ModRevision;

    /// <summary>Writes since the key was (re)created; 1 after the first put.</summary>
    public long Version => _record.Version;

    /// <summary>The lease the key is bound to; 0 for none.</summary>
    public long LeaseId => _record.Lease;

    /// <summary>The value decoded as UTF-8.</summary>
    /// <returns>The value as text.</returns>
    public string GetString() => Encoding.UTF8.GetString(_record.Value.Span);

    /// <summary>The value deserialized from JSON with source-generated metadata (trimming and AOT safe).</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="typeInfo">Metadata from a <c>JsonSerializerContext</c>.</param>
    /// <returns>The value.</returns>
    /// <exception cref="JsonException">The value is not valid JSON for <typeparamref name="T"/>.</exception>
    public T? GetJson<T>(JsonTypeInfo<T> typeInfo) => JsonSerializer.Deserialize(_record.Value.Span, typeInfo);

    /// <summary>The value deserialized from JSON by reflection.</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="options">Serializer options; null for the defaults.</param>
    /// <returns>The value.</returns>
    /// <exception cref="JsonException">The value is not valid JSON for <typeparamref name="T"/>.</exception>
    [RequiresUnreferencedCode(JsonReflection.UnreferencedCodeMessage)]
    [RequiresDynamicCode(JsonReflection.DynamicCodeMessage)]
    public T? GetJson<T>(JsonSerializerOptions? options = null) => JsonSerializer.Deserialize<T>(_record.Value.Span, options);

    /// <summary>The key and its mod revision, for debugging.</summary>
    /// <returns>A short description.</returns>
    public override string ToString() => $"{Key}@{ModRevision}";
}
