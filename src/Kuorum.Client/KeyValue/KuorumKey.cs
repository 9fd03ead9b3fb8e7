using System.Text;
using Google.Protobuf;

namespace Kuorum.Client;

/// <summary>
/// A key of the store: raw bytes, converted implicitly from a <see cref="string"/> (encoded as UTF-8), a
/// <see cref="T:byte[]"/> or a <see cref="ReadOnlyMemory{T}"/> of bytes, so every key-value method takes either.
/// </summary>
public readonly struct KuorumKey : IEquatable<KuorumKey>
{
    private readonly ByteString? _bytes;

    /// <summary>The UTF-8 encoding of <paramref name="key"/>.</summary>
    /// <param name="key">The key as text.</param>
    public KuorumKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        _bytes = ByteString.CopyFromUtf8(key);
    }

    /// <summary>A copy of <paramref name="key"/>.</summary>
    /// <param name="key">The key's bytes.</param>
    public KuorumKey(ReadOnlySpan<byte> key)
    {
        _bytes = ByteString.CopyFrom(key);
    }

    internal KuorumKey(ByteString key)
    {
        _bytes = key;
    }

    /// <summary>The key's bytes.</summary>
    public ReadOnlyMemory<byte> Bytes => Raw.Memory;

    /// <summary>Length of the key in bytes.</summary>
    public int Length => Raw.Length;

    /// <summary>True for the empty key (as a prefix: every key).</summary>
    public bool IsEmpty => Raw.IsEmpty;

    internal ByteString Raw => _bytes ?? ByteString.Empty;

    /// <summary>Converts a text key (UTF-8).</summary>
    /// <param name="key">The key as text.</param>
    public static implicit operator KuorumKey(string key) => new(key);

    /// <summary>Converts (copies) a binary key.</summary>
    /// <param name="key">The key's bytes.</param>
    public static implicit operator KuorumKey(byte[] key) => new(key);

    /// <summary>Converts (copies) a binary key.</summary>
    /// <param name="key">The key's bytes.</param>
    public static implicit operator KuorumKey(ReadOnlyMemory<byte> key) => new(key.Span);

    /// <summary>True when both keys have the same bytes.</summary>
    /// <param name="left">A key.</param>
    /// <param name="right">Another key.</param>
    public static bool operator ==(KuorumKey left, KuorumKey right) => left.Equals(right);

    /// <summary>True when the keys' bytes differ.</summary>
    /// <param name="left">A key.</param>
    /// <param name="right">Another key.</param>
    public static bool operator !=(KuorumKey left, KuorumKey right) => !left.Equals(right);

    /// <summary>The key decoded as UTF-8 (invalid sequences become U+FFFD).</summary>
    /// <returns>The key as text.</returns>
    public override string ToString() => Encoding.UTF8.GetString(Raw.Span);

    /// <summary>True when both keys have the same bytes.</summary>
    /// <param name="other">Another key.</param>
    /// <returns>Whether the bytes are equal.</returns>
    public bool Equals(KuorumKey other) => Raw.Span.SequenceEqual(other.Raw.Span);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is KuorumKey other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => Raw.GetHashCode();
}
