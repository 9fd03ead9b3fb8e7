using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Kuorum.Operator.Tests.Emulation;

/// <summary>A change as a watch delivers it.</summary>
/// <param name="ResourceVersion">The store's resource version after the change.</param>
/// <param name="Resource">The resource.</param>
/// <param name="Type">ADDED, MODIFIED or DELETED.</param>
/// <param name="Object">The object after the change (before it, for a deletion), owned by the event.</param>
public sealed record StoredEvent(long ResourceVersion, EmulatedResource Resource, string Type, JsonObject Object)
{
    public string Namespace => Object["metadata"]?["namespace"]?.GetValue<string>() ?? "";
}

/// <summary>
/// The emulation's storage, standing in for etcd behind an API server: one global resource version that every write
/// raises, optimistic concurrency (a write carrying an old resourceVersion gets 409), a bounded event history from
/// which watches resume (a watch from before the history gets 410 Gone), generation bumps on spec changes, status
/// and scale subresources, and garbage collection of objects whose owners are all gone.
/// </summary>
public sealed class EmulatedStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, SortedDictionary<string, JsonObject>> _objects = [];
    private readonly List<StoredEvent> _history = [];
    private readonly List<Subscription> _subscriptions = [];
    private readonly Channel<StoredEvent> _changes = Channel.CreateUnbounded<StoredEvent>();
    private long _version = 100;
    private long _compactedThrough = 100;

    /// <summary>Largest number of events kept for watches to resume from.</summary>
    public int HistoryLimit { get; set; } = 10_000;

    /// <summary>Every change, in order, for in-process controllers of the emulation (StatefulSet controller, kubelet).</summary>
    public ChannelReader<StoredEvent> Changes => _changes.Reader;

    public long CurrentVersion
    {
        get
        {
            lock (_lock)
            {
                return _version;
            }
        }
    }

    /// <summary>Forgets the event history, as etcd compaction does: watches resuming from before now get 410 Gone.</summary>
    public void Compact()
    {
        lock (_lock)
        {
            _history.Clear();
            _compactedThrough = _version;
        }
    }

    public JsonObject? Get(EmulatedResource resource, string ns, string name)
    {
        lock (_lock)
        {
            return Bucket(resource).GetValueOrDefault(Key(ns, name))?.DeepClone().AsObject();
        }
    }

    public (List<JsonObject> Items, long Version) List(EmulatedResource resource, string? ns, LabelSelector selector)
    {
        lock (_lock)
        {
            var items = Bucket(resource).Values
                .Where(o => (ns is null || Namespace(o) == ns) && selector.Matches(o))
                .Select(o => o.DeepClone().AsObject())
                .ToList();
            return (items, _version);
        }
    }

    public JsonObject Create(EmulatedResource resource, string ns, JsonObject obj)
    {
        lock (_lock)
        {
            var meta = Meta(obj);
            var name = meta["name"]?.GetValue<string>();
            if (string.IsNullOrEmpty(name) && meta["generateName"]?.GetValue<string>() is { } prefix)
            {
                name = prefix + Guid.NewGuid().ToString("N")[..5];
                meta["name"] = name;
            }

            if (string.IsNullOrEmpty(name))
            {
                throw new EmulationException(422, "Invalid", "metadata.name: Required value");
            }

            var bucket = Bucket(resource);
            if (bucket.ContainsKey(Key(ns, name)))
            {
                throw EmulationException.AlreadyExists(resource, name);
            }

            obj["apiVersion"] = resource.ApiVersion;
            obj["kind"] = resource.Kind;
            if (ns.Length > 0)
            {
                meta["namespace"] = ns;
            }

            meta["uid"] = Guid.NewGuid().ToString();
            meta["creationTimestamp"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            meta["generation"] = 1L;
            meta.Remove("deletionTimestamp");
            meta.Remove("resourceVersion");
            if (resource.HasStatus && resource != EmulatedResources.Pods)
            {
                obj.Remove("status");
            }

            var created = Commit(resource, ns, name, obj, "ADDED");

            // As the garbage collector would, soon: an object created with only owners that no longer exist goes.
            CollectGarbage();
            return created;
        }
    }

    /// <summary>Replaces an object (or its status); 409 when the body's resourceVersion is not the current one.</summary>
    public JsonObject Replace(EmulatedResource resource, string ns, string name, JsonObject obj, string? subresource)
    {
        lock (_lock)
        {
            var current = Bucket(resource).GetValueOrDefault(Key(ns, name)) ?? throw EmulationException.NotFound(resource, name);
            var sent = Meta(obj)["resourceVersion"]?.GetValue<string>();
            if (!string.IsNullOrEmpty(sent) && sent != Meta(current)["resourceVersion"]!.GetValue<string>())
            {
                throw EmulationException.Conflict(resource, name);
            }

            return Update(resource, ns, name, current, obj, subresource);
        }
    }

    /// <summary>Changes an object through a function of its current JSON (merge patches, scale, in-process controllers).</summary>
    public JsonObject Mutate(EmulatedResource resource, string ns, string name, Func<JsonObject, JsonObject> change, string? subresource)
    {
        lock (_lock)
        {
            var current = Bucket(resource).GetValueOrDefault(Key(ns, name)) ?? throw EmulationException.NotFound(resource, name);
            return Update(resource, ns, name, current, change(current.DeepClone().AsObject()), subresource);
        }
    }

    public JsonObject Delete(EmulatedResource resource, string ns, string name)
    {
        lock (_lock)
        {
            var bucket = Bucket(resource);
            if (!bucket.Remove(Key(ns, name), out var removed))
            {
                throw EmulationException.NotFound(resource, name);
            }

            _version++;
            Meta(removed)["resourceVersion"] = _version.ToString(CultureInfo.InvariantCulture);
            Publish(new StoredEvent(_version, resource, "DELETED", removed));
            CollectGarbage();
            return removed.DeepClone().AsObject();
        }
    }

    /// <summary>Watches from a resource version; "" or "0" starts with ADDED events for what exists. Throws 410 when the version is older than the history.</summary>
    public ChannelReader<StoredEvent> Watch(EmulatedResource resource, string? ns, LabelSelector selector, string? fromVersion, CancellationToken ct)
    {
        var channel = Channel.CreateUnbounded<StoredEvent>();
        lock (_lock)
        {
            if (string.IsNullOrEmpty(fromVersion) || fromVersion == "0")
            {
                foreach (var o in Bucket(resource).Values.Where(o => (ns is null || Namespace(o) == ns) && selector.Matches(o)))
                {
                    channel.Writer.TryWrite(new StoredEvent(_version, resource, "ADDED", o.DeepClone().AsObject()));
                }
            }
            else
            {
                var from = long.Parse(fromVersion, CultureInfo.InvariantCulture);
                if (from < _compactedThrough)
                {
                    throw new EmulationException(410, "Expired", $"too old resource version: {from} ({_compactedThrough})");
                }

                foreach (var e in _history.Where(e => e.ResourceVersion > from && e.Resource == resource && (ns is null || e.Namespace == ns) && selector.Matches(e.Object)))
                {
                    channel.Writer.TryWrite(e with { Object = e.Object.DeepClone().AsObject() });
                }
            }

            var subscription = new Subscription(resource, ns, selector, channel.Writer);
            _subscriptions.Add(subscription);
            ct.Register(() =>
            {
                lock (_lock)
                {
                    _subscriptions.Remove(subscription);
                }

                channel.Writer.TryComplete();
            });
        }

        return channel.Reader;
    }

    /// <summary>Ends every open watch stream from the server side (as a restarted API server or a load balancer would).</summary>
    public void EndAllWatches()
    {
        lock (_lock)
        {
            foreach (var s in _subscriptions)
            {
                s.Writer.TryComplete(new IOException("watch dropped by the emulation"));
            }

            _subscriptions.Clear();
        }
    }

    public int OpenWatches
    {
        get
        {
            lock (_lock)
            {
                return _subscriptions.Count;
            }
        }
    }

    private JsonObject Update(EmulatedResource resource, string ns, string name, JsonObject current, JsonObject obj, string? subresource)
    {
        var next = current.DeepClone().AsObject();
        if (subresource == "status")
        {
            next["status"] = obj["status"]?.DeepClone();
        }
        else
        {
            var keepStatus = resource.HasStatus ? current["status"]?.DeepClone() : null;
            next = obj.DeepClone().AsObject();
            var meta = Meta(next);
            var oldMeta = Meta(current);
            foreach (var field in new[] { "uid", "creationTimestamp", "generation", "namespace", "name", "deletionTimestamp" })
            {
                meta[field] = oldMeta[field]?.DeepClone();
            }

            next["apiVersion"] = resource.ApiVersion;
            next["kind"] = resource.Kind;
            if (resource.HasStatus && resource != EmulatedResources.Pods)
            {
                next["status"] = keepStatus;
            }

            if (!JsonNode.DeepEquals(Body(current), Body(next)))
            {
                meta["generation"] = (oldMeta["generation"] is { } g ? long.Parse(g.ToJsonString(), CultureInfo.InvariantCulture) : 0) + 1;
            }
        }

        Meta(next)["resourceVersion"] = Meta(current)["resourceVersion"]?.DeepClone();
        if (JsonNode.DeepEquals(current, next))
        {
            return current.DeepClone().AsObject(); // a no-op write changes nothing, as in Kubernetes
        }

        return Commit(resource, ns, name, next, "MODIFIED");
    }

    private static JsonObject Body(JsonObject o)
    {
        var body = o.DeepClone().AsObject();
        body.Remove("metadata");
        body.Remove("status");
        return body;
    }

    private JsonObject Commit(EmulatedResource resource, string ns, string name, JsonObject obj, string type)
    {
        _version++;
        Meta(obj)["resourceVersion"] = _version.ToString(CultureInfo.InvariantCulture);
        Bucket(resource)[Key(ns, name)] = obj;
        Publish(new StoredEvent(_version, resource, type, obj.DeepClone().AsObject()));
        return obj.DeepClone().AsObject();
    }

    private void Publish(StoredEvent e)
    {
        _history.Add(e);
        if (_history.Count > HistoryLimit)
        {
            var drop = _history.Count - HistoryLimit;
            _compactedThrough = _history[drop - 1].ResourceVersion;
            _history.RemoveRange(0, drop);
        }

        foreach (var s in _subscriptions)
        {
            if (s.Resource == e.Resource && (s.Namespace is null || s.Namespace == e.Namespace) && s.Selector.Matches(e.Object))
            {
                s.Writer.TryWrite(e with { Object = e.Object.DeepClone().AsObject() });
            }
        }

        _changes.Writer.TryWrite(e);
    }

    /// <summary>Deletes, transitively, every object that has owner references and none of whose owners exists.</summary>
    private void CollectGarbage()
    {
        while (true)
        {
            var uids = _objects.Values.SelectMany(b => b.Values).Select(o => Meta(o)["uid"]?.GetValue<string>()).ToHashSet();
            var orphan = _objects.SelectMany(b => b.Value.Select(o => (Resource: b.Key, Entry: o)))
                .FirstOrDefault(x => Meta(x.Entry.Value)["ownerReferences"] is JsonArray { Count: > 0 } owners
                                     && owners.All(r => !uids.Contains(r?["uid"]?.GetValue<string>())));
            if (orphan.Entry.Value is null)
            {
                return;
            }

            var resource = EmulatedResources.All.First(r => r.Key == orphan.Resource);
            var removed = orphan.Entry.Value;
            _objects[orphan.Resource].Remove(orphan.Entry.Key);
            _version++;
            Meta(removed)["resourceVersion"] = _version.ToString(CultureInfo.InvariantCulture);
            Publish(new StoredEvent(_version, resource, "DELETED", removed));
        }
    }

    private SortedDictionary<string, JsonObject> Bucket(EmulatedResource resource)
    {
        if (!_objects.TryGetValue(resource.Key, out var bucket))
        {
            bucket = new SortedDictionary<string, JsonObject>(StringComparer.Ordinal);
            _objects[resource.Key] = bucket;
        }

        return bucket;
    }

    private static string Key(string ns, string name) => ns + "/" + name;

    private static string Namespace(JsonObject o) => o["metadata"]?["namespace"]?.GetValue<string>() ?? "";

    internal static JsonObject Meta(JsonObject o)
    {
        if (o["metadata"] is not JsonObject meta)
        {
            meta = new JsonObject();
            o["metadata"] = meta;
        }

        return meta;
    }

    private sealed record Subscription(EmulatedResource Resource, string? Namespace, LabelSelector Selector, ChannelWriter<StoredEvent> Writer);
}
