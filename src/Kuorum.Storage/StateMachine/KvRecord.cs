namespace Kuorum.Storage.StateMachine;

/// <summary>
/// A key's value and its revisions, with etcd's meaning: <see cref="CreateRevision"/> is the store revision of the Put
/// that created the key, <see cref="ModRevision"/> that of its latest Put, and <see cref="Version"/> counts the Puts
/// since the key was created (a Delete ends the key; a later Put creates it again at version 1). <see cref="Lease"/> is
/// the lease the key is attached to, 0 for none.
/// </summary>
public sealed record KvRecord(ReadOnlyMemory<byte> Key, ReadOnlyMemory<byte> Value, long CreateRevision, long ModRevision, long Version, long Lease = 0)
{
    /// <inheritdoc />
    public bool Equals(KvRecord? other) =>
        other is not null && CreateRevision == other.CreateRevision && ModRevision == other.ModRevision
        && Version == other.Version && Lease == other.Lease && Key.Span.SequenceEqual(other.Key.Span) && Value.Span.SequenceEqual(other.Value.Span);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Key.Length, Value.Length, CreateRevision, ModRevision, Version, Lease);

    /// <inheritdoc />
    public override string ToString() =>
        $"{Convert.ToHexString(Key.Span)} = {Value.Length}B (create {CreateRevision}, mod {ModRevision}, version {Version}{(Lease == 0 ? "" : $", lease {Lease}")})";
}
