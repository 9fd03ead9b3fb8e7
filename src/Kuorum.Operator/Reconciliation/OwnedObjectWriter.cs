using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Kuorum.Operator.Runtime;

namespace Kuorum.Operator.Reconciliation;

/// <summary>What writing one owned object did.</summary>
internal enum WriteOutcome
{
    Unchanged,
    Created,
    Updated,
}

/// <summary>An object with the name the operator wants exists and belongs to someone else.</summary>
internal sealed class OwnershipConflictException(string message) : Exception(message);

/// <summary>
/// Creates or updates one owned object so it matches what is desired, writing nothing when it already does. An update
/// is a replace carrying the resourceVersion it was computed from; on 409 Conflict it starts again from a fresh read.
/// </summary>
internal sealed class OwnedObjectWriter
{
    private const int MaxAttempts = 5;
    private readonly IKubernetes _client;
    private readonly OperatorMetrics _metrics;

    public OwnedObjectWriter(IKubernetes client, OperatorMetrics metrics)
    {
        _client = client;
        _metrics = metrics;
    }

    public async Task<WriteOutcome> EnsureAsync<T, TList>(
        ResourceKind<T, TList> kind, ObjectCache<T> cache, T desired, string ownerUid, IReadOnlySet<string> replaceWhole, CancellationToken ct)
        where T : class, IKubernetesObject<V1ObjectMeta>
        where TList : class, IItems<T>, IMetadata<V1ListMeta>
    {
        var (outcome, _) = await EnsureAsync(kind, cache, ObjectKey.Of(desired), _ => desired, ownerUid, replaceWhole, ct).ConfigureAwait(false);
        return outcome;
    }

    /// <summary>
    /// As above, with the desired object computed from the existing one (null when there is none) on every attempt:
    /// for objects whose content must be kept when it is still good (a CA is never replaced because a cache lagged and
    /// a create met an existing object). Returns the outcome and the desired object of the attempt that settled it.
    /// </summary>
    public async Task<(WriteOutcome Outcome, T Desired)> EnsureAsync<T, TList>(
        ResourceKind<T, TList> kind, ObjectCache<T> cache, ObjectKey key, Func<T?, T> desiredFor, string ownerUid, IReadOnlySet<string> replaceWhole,
        CancellationToken ct)
        where T : class, IKubernetesObject<V1ObjectMeta>
        where TList : class, IItems<T>, IMetadata<V1ListMeta>
    {
        for (var attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            var existing = attempt == 1 ? cache.Get(key) : await GetOrNullAsync(kind, key, ct).ConfigureAwait(false);
            var desired = desiredFor(existing);

            if (existing is null)
            {
                try
                {
                    var created = await kind.Create(_client, desired, ct).ConfigureAwait(false);
                    cache.WriteThrough(created);
                    _metrics.RecordWrite(kind.Name, "create");
                    return (WriteOutcome.Created, desired);
                }
                catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
                {
                    continue; // exists after all (the cache lagged): read it and compare
                }
            }

            if (existing.Metadata.OwnerReferences?.Any(r => r.Controller == true && r.Uid == ownerUid) != true)
            {
                throw new OwnershipConflictException(
                    $"{kind.Name} {key} exists and is not controlled by this ConsensusCluster; delete or rename it");
            }

            var desiredJson = JsonNode.Parse(KubernetesJson.Serialize(desired))!;
            var existingJson = JsonNode.Parse(KubernetesJson.Serialize(existing))!;
            if (JsonSemantics.IsSubset(desiredJson, existingJson))
            {
                return (WriteOutcome.Unchanged, desired);
            }

            var merged = KubernetesJson.Deserialize<T>(JsonSemantics.Merge(existingJson, desiredJson, replaceWhole).ToJsonString());
            merged.Metadata.ResourceVersion = existing.Metadata.ResourceVersion;
            try
            {
                var updated = await kind.Replace(_client, merged, ct).ConfigureAwait(false);
                cache.WriteThrough(updated);
                _metrics.RecordWrite(kind.Name, "update");
                return (WriteOutcome.Updated, desired);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.NotFound)
            {
                // Someone wrote in between (or it was deleted): start again from what the server has now.
            }
        }

        throw new InvalidOperationException($"{kind.Name} {key} kept changing under the operator ({MaxAttempts} conflicts in a row)");
    }

    private async Task<T?> GetOrNullAsync<T, TList>(ResourceKind<T, TList> kind, ObjectKey key, CancellationToken ct)
        where T : class, IKubernetesObject<V1ObjectMeta>
        where TList : class, IItems<T>, IMetadata<V1ListMeta>
    {
        try
        {
            return await kind.Get(_client, key.Namespace, key.Name, ct).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }
}
