using System.Collections.Concurrent;
using System.Globalization;
using k8s;
using k8s.Models;

namespace Kuorum.Operator.Runtime;

/// <summary>The informer's local copy of the objects it watches. Readers must not modify what they get.</summary>
/// <typeparam name="T">The object type.</typeparam>
internal sealed class ObjectCache<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly ConcurrentDictionary<ObjectKey, T> _objects = new();

    public int Count => _objects.Count;

    public T? Get(ObjectKey key) => _objects.GetValueOrDefault(key);

    public T? Get(string ns, string name) => Get(new ObjectKey(ns, name));

    public IReadOnlyList<T> List(string? ns = null) =>
        _objects.Values.Where(o => ns is null || o.Metadata.NamespaceProperty == ns).ToList();

    public IReadOnlyList<ObjectKey> Keys() => _objects.Keys.ToList();

    internal void Set(T obj) => _objects[ObjectKey.Of(obj)] = obj;

    internal bool Remove(ObjectKey key, out T? removed) => _objects.TryRemove(key, out removed);

    /// <summary>
    /// Stores an object the operator itself just wrote, unless the cache already holds a newer version, so the next
    /// reconcile does not act on the version before its own write. Resource versions are opaque in general; this
    /// compares them only when both are integers (as etcd's are) and otherwise leaves the informer to catch up.
    /// </summary>
    internal void WriteThrough(T written)
    {
        var key = ObjectKey.Of(written);
        if (!long.TryParse(written.Metadata.ResourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var writtenVersion))
        {
            return;
        }

        _objects.AddOrUpdate(
            key,
            written,
            (_, cached) => long.TryParse(cached.Metadata.ResourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var cachedVersion)
                           && cachedVersion >= writtenVersion
                ? cached
                : written);
    }
}
