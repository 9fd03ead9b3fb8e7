using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Google.Protobuf;
using Kuorum.Api.V1;
using Kuorum.Client.Internal;

namespace Kuorum.Client;

public sealed partial class KuorumClient
{
    internal KeyValue.KeyValueClient KeyValueService => _kv;

    /// <summary>Reads a key with <see cref="KuorumClientOptions.DefaultReadConsistency"/>. Retried while the sidecar is unavailable.</summary>
    /// <param name="key">The key (a string is encoded as UTF-8).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The key with its metadata, or null when it does not exist.</returns>
    public Task<KeyValueEntry?> GetAsync(KuorumKey key, CancellationToken cancellationToken = default) =>
        GetAsync(key, _options.DefaultReadConsistency, cancellationToken);

    /// <summary>Reads a key with the given consistency. Retried while the sidecar is unavailable.</summary>
    /// <param name="key">The key.</param>
    /// <param name="consistency">How the read is served.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The key with its metadata, or null when it does not exist.</returns>
    public async Task<KeyValueEntry?> GetAsync(KuorumKey key, ReadConsistency consistency, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var request = new GetRequest { Key = key.Raw, Consistency = (Consistency)consistency };
        var response = await IdempotentCallAsync("Get", ct => _kv.GetAsync(request, cancellationToken: ct), cancellationToken)
            .ConfigureAwait(false);
        return response.Kv is null ? null : new KeyValueEntry(response.Kv);
    }

    /// <summary>Reads a key's value as UTF-8 text.</summary>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The value, or null when the key does not exist.</returns>
    public async Task<string?> GetStringAsync(KuorumKey key, CancellationToken cancellationToken = default) =>
        (await GetAsync(key, cancellationToken).ConfigureAwait(false))?.GetString();

    /// <summary>Reads a key's value as JSON, with source-generated metadata (trimming and AOT safe).</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="typeInfo">Metadata from a <c>JsonSerializerContext</c>.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The value, or default when the key does not exist.</returns>
    public async Task<T?> GetJsonAsync<T>(KuorumKey key, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        var entry = await GetAsync(key, cancellationToken).ConfigureAwait(false);
        return entry is null ? default : entry.GetJson(typeInfo);
    }

    /// <summary>Reads a key's value as JSON, by reflection with the default serializer options.</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The value, or default when the key does not exist.</returns>
    [RequiresUnreferencedCode(JsonReflection.UnreferencedCodeMessage)]
    [RequiresDynamicCode(JsonReflection.DynamicCodeMessage)]
    public async Task<T?> GetJsonAsync<T>(KuorumKey key, CancellationToken cancellationToken = default)
    {
        var entry = await GetAsync(key, cancellationToken).ConfigureAwait(false);
        return entry is null ? default : entry.GetJson<T>();
    }

    /// <summary>Writes a key as UTF-8 text. Not retried: a failed write may still have been applied.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The store's revision of the write (the key's new mod revision).</returns>
    public Task<long> PutAsync(KuorumKey key, string value, CancellationToken cancellationToken = default) =>
        PutAsync(key, value, 0, cancellationToken);

    /// <summary>Writes a key as UTF-8 text, bound to a lease: it is deleted when the lease ends.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="leaseId">The lease (see <see cref="GrantLeaseAsync"/>); 0 for none.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The store's revision of the write.</returns>
    public Task<long> PutAsync(KuorumKey key, string value, long leaseId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(value);
        return PutCoreAsync(key, ByteString.CopyFromUtf8(value), leaseId, cancellationToken);
    }

    /// <summary>Writes a key. Not retried: a failed write may still have been applied.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value's bytes.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The store's revision of the write.</returns>
    public Task<long> PutAsync(KuorumKey key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default) =>
        PutAsync(key, value, 0, cancellationToken);

    /// <summary>Writes a key bound to a lease: it is deleted when the lease ends.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value's bytes.</param>
    /// <param name="leaseId">The lease; 0 for none.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The store's revision of the write.</returns>
    public Task<long> PutAsync(KuorumKey key, ReadOnlyMemory<byte> value, long leaseId, CancellationToken cancellationToken = default) =>
        PutCoreAsync(key, ByteString.CopyFrom(value.Span), leaseId, cancellationToken);

    /// <summary>Writes a key as JSON, with source-generated metadata (trimming and AOT safe).</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="typeInfo">Metadata from a <c>JsonSerializerContext</c>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The store's revision of the write.</returns>
    public Task<long> PutJsonAsync<T>(KuorumKey key, T value, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        return PutCoreAsync(key, UnsafeByteOperations.UnsafeWrap(JsonSerializer.SerializeToUtf8Bytes(value, typeInfo)), 0, cancellationToken);
    }

    /// <summary>Writes a key as JSON, by reflection with the default serializer options.</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The store's revision of the write.</returns>
    [RequiresUnreferencedCode(JsonReflection.UnreferencedCodeMessage)]
    [RequiresDynamicCode(JsonReflection.DynamicCodeMessage)]
    public Task<long> PutJsonAsync<T>(KuorumKey key, T value, CancellationToken cancellationToken = default) =>
        PutCoreAsync(key, UnsafeByteOperations.UnsafeWrap(JsonSerializer.SerializeToUtf8Bytes(value)), 0, cancellationToken);

    /// <summary>Deletes a key.</summary>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>True when the key existed.</returns>
    public async Task<bool> DeleteAsync(KuorumKey key, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var request = new DeleteRequest { Key = key.Raw };
        var response = await CallOnceAsync("Delete", ct => _kv.DeleteAsync(request, cancellationToken: ct), cancellationToken)
            .ConfigureAwait(false);
        return response.Deleted > 0;
    }

    /// <summary>Reads every key that begins with <paramref name="prefix"/> (up to the agent's maximum, 10,000).</summary>
    /// <param name="prefix">The prefix; empty for every key.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The keys in key order, and whether more matched.</returns>
    public Task<RangeResult> RangeAsync(KuorumKey prefix, CancellationToken cancellationToken = default) =>
        RangeAsync(prefix, new RangeOptions(), cancellationToken);

    /// <summary>Reads the keys that begin with <paramref name="prefix"/>. Retried while the sidecar is unavailable.</summary>
    /// <param name="prefix">The prefix; empty for every key.</param>
    /// <param name="options">Limit, keys only, consistency.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The keys in key order, and whether more matched.</returns>
    public async Task<RangeResult> RangeAsync(KuorumKey prefix, RangeOptions options, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(options.Limit, nameof(options.Limit));
        var request = new RangeRequest
        {
            Prefix = prefix.Raw,
            Limit = options.Limit,
            KeysOnly = options.KeysOnly,
            Consistency = (Consistency)(options.Consistency ?? _options.DefaultReadConsistency),
        };
        var response = await IdempotentCallAsync("Range", ct => _kv.RangeAsync(request, cancellationToken: ct), cancellationToken)
            .ConfigureAwait(false);
        var entries = response.Kvs.Select(kv => new KeyValueEntry(kv)).ToArray();
        return new RangeResult(entries, response.More, response.Header?.Revision ?? 0);
    }

    /// <summary>Starts building an atomic compare-then-write transaction.</summary>
    /// <returns>An empty transaction; add comparisons and operations, then commit it.</returns>
    public KuorumTransaction Transaction()
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return new KuorumTransaction(this);
    }

    /// <summary>
    /// Writes <paramref name="newValue"/> only if the key's mod revision is still
    /// <paramref name="expectedModRevision"/>; 0 means "only if the key does not exist". On failure the result carries
    /// the key as it is now, to retry against.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="expectedModRevision">The mod revision read earlier, or 0 to create.</param>
    /// <param name="newValue">The new value, encoded as UTF-8.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the swap happened, and the new or current state.</returns>
    public Task<CompareAndSwapResult> CompareAndSwapAsync(KuorumKey key, long expectedModRevision, string newValue, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(newValue);
        return CompareAndSwapCoreAsync(key, expectedModRevision, ByteString.CopyFromUtf8(newValue), cancellationToken);
    }

    /// <summary>
    /// Writes <paramref name="newValue"/> only if the key's mod revision is still
    /// <paramref name="expectedModRevision"/>; 0 means "only if the key does not exist".
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="expectedModRevision">The mod revision read earlier, or 0 to create.</param>
    /// <param name="newValue">The new value's bytes.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the swap happened, and the new or current state.</returns>
    public Task<CompareAndSwapResult> CompareAndSwapAsync(KuorumKey key, long expectedModRevision, ReadOnlyMemory<byte> newValue, CancellationToken cancellationToken = default) =>
        CompareAndSwapCoreAsync(key, expectedModRevision, ByteString.CopyFrom(newValue.Span), cancellationToken);

    /// <summary>Compare-and-swap of a JSON value, with source-generated metadata (trimming and AOT safe).</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="expectedModRevision">The mod revision read earlier, or 0 to create.</param>
    /// <param name="newValue">The new value.</param>
    /// <param name="typeInfo">Metadata from a <c>JsonSerializerContext</c>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the swap happened, and the new or current state.</returns>
    public Task<CompareAndSwapResult> CompareAndSwapJsonAsync<T>(KuorumKey key, long expectedModRevision, T newValue, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        return CompareAndSwapCoreAsync(
            key, expectedModRevision, UnsafeByteOperations.UnsafeWrap(JsonSerializer.SerializeToUtf8Bytes(newValue, typeInfo)), cancellationToken);
    }

    /// <summary>Deletes the key only if its mod revision is still <paramref name="expectedModRevision"/>.</summary>
    /// <param name="key">The key.</param>
    /// <param name="expectedModRevision">The mod revision read earlier.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the deletion happened; on failure, the key as it is now.</returns>
    public async Task<CompareAndSwapResult> CompareAndDeleteAsync(KuorumKey key, long expectedModRevision, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(expectedModRevision);
        var result = await Transaction()
            .IfModRevision(key, CompareOperator.Equal, expectedModRevision)
            .ThenDelete(key)
            .ElseGet(key)
            .CommitAsync(cancellationToken)
            .ConfigureAwait(false);
        return new CompareAndSwapResult(result.Succeeded, result.Revision, result.Succeeded ? null : result.Results[0].Entry);
    }

    /// <summary>
    /// Follows a key from the next change on. The stream reopens by itself when it breaks, resuming after the last
    /// revision delivered: no event is lost or repeated. It ends only when <paramref name="cancellationToken"/> fires.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Ends the watch.</param>
    /// <returns>The key's changes in revision order.</returns>
    /// <exception cref="WatchCompactedException">The history needed to resume was compacted away.</exception>
    public IAsyncEnumerable<WatchEvent> WatchAsync(KuorumKey key, CancellationToken cancellationToken = default) =>
        WatchAsync(key, 0, cancellationToken);

    /// <summary>
    /// Follows a key from <paramref name="fromRevision"/> on (0: from the next change), resuming after the last
    /// revision delivered whenever the stream breaks.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="fromRevision">The first revision to deliver; typically a read's revision + 1.</param>
    /// <param name="cancellationToken">Ends the watch.</param>
    /// <returns>The key's changes in revision order.</returns>
    /// <exception cref="WatchCompactedException">The requested history was compacted away.</exception>
    public IAsyncEnumerable<WatchEvent> WatchAsync(KuorumKey key, long fromRevision, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        ArgumentOutOfRangeException.ThrowIfNegative(fromRevision);
        return WatchCoreAsync(key, prefix: false, fromRevision, cancellationToken);
    }

    /// <summary>Follows every key that begins with <paramref name="prefix"/>, from the next change on.</summary>
    /// <param name="prefix">The prefix; empty for every key.</param>
    /// <param name="cancellationToken">Ends the watch.</param>
    /// <returns>The changes in revision order.</returns>
    /// <exception cref="WatchCompactedException">The history needed to resume was compacted away.</exception>
    public IAsyncEnumerable<WatchEvent> WatchPrefixAsync(KuorumKey prefix, CancellationToken cancellationToken = default) =>
        WatchPrefixAsync(prefix, 0, cancellationToken);

    /// <summary>Follows every key that begins with <paramref name="prefix"/>, from <paramref name="fromRevision"/> on.</summary>
    /// <param name="prefix">The prefix; empty for every key.</param>
    /// <param name="fromRevision">The first revision to deliver (0: from the next change).</param>
    /// <param name="cancellationToken">Ends the watch.</param>
    /// <returns>The changes in revision order.</returns>
    /// <exception cref="WatchCompactedException">The requested history was compacted away.</exception>
    public IAsyncEnumerable<WatchEvent> WatchPrefixAsync(KuorumKey prefix, long fromRevision, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        ArgumentOutOfRangeException.ThrowIfNegative(fromRevision);
        return WatchCoreAsync(prefix, prefix: true, fromRevision, cancellationToken);
    }

    private async Task<long> PutCoreAsync(KuorumKey key, ByteString value, long leaseId, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        ArgumentOutOfRangeException.ThrowIfNegative(leaseId);
        var request = new PutRequest { Key = key.Raw, Value = value, Lease = leaseId };
        var response = await CallOnceAsync("Put", ct => _kv.PutAsync(request, cancellationToken: ct), cancellationToken)
            .ConfigureAwait(false);
        return response.Header?.Revision ?? 0;
    }

    private async Task<CompareAndSwapResult> CompareAndSwapCoreAsync(KuorumKey key, long expectedModRevision, ByteString newValue, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(expectedModRevision);
        var transaction = Transaction();
        transaction = expectedModRevision == 0
            ? transaction.IfMissing(key)
            : transaction.IfModRevision(key, CompareOperator.Equal, expectedModRevision);
        var result = await transaction
            .ThenPut(key, newValue.Memory)
            .ElseGet(key)
            .CommitAsync(cancellationToken)
            .ConfigureAwait(false);
        return new CompareAndSwapResult(result.Succeeded, result.Revision, result.Succeeded ? null : result.Results[0].Entry);
    }

    private async IAsyncEnumerable<WatchEvent> WatchCoreAsync(
        KuorumKey key, bool prefix, long fromRevision, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var stream = prefix ? $"watch of prefix '{key}'" : $"watch of '{key}'";
        // The first revision not yet delivered. "From the next change" is pinned to a revision now, so that a
        // reconnection resumes from it instead of skipping what happened while the stream was down.
        var next = fromRevision;
        if (next == 0)
        {
            // A one-key, keys-only range: valid for any key or prefix (the empty prefix included); only its header matters.
            var probe = new RangeRequest { Prefix = key.Raw, Limit = 1, KeysOnly = true };
            var current = await IdempotentCallAsync("Watch", ct => _kv.RangeAsync(probe, cancellationToken: ct), cancellationToken)
                .ConfigureAwait(false);
            next = (current.Header?.Revision ?? 0) + 1;
        }

        var backoff = NewBackoff();
        while (true)
        {
            using (var call = _kv.Watch(new WatchRequest { Key = key.Raw, Prefix = prefix, StartRevision = next }, cancellationToken: cancellationToken))
            {
                string reason;
                while (true)
                {
                    (WatchResponse? response, reason) = await NextAsync(call.ResponseStream, "Watch", cancellationToken).ConfigureAwait(false);
                    if (response is null)
                    {
                        break;
                    }

                    if (response.Compacted)
                    {
                        throw new WatchCompactedException(key.ToString(), next, response.CompactRevision);
                    }

                    backoff.Reset();
                    var highest = next - 1;
                    foreach (var change in response.Events)
                    {
                        var entry = new KeyValueEntry(change.Kv ?? new Record());
                        if (entry.ModRevision < next)
                        {
                            // Delivered before the stream broke; an agent may resend it.
                            continue;
                        }

                        highest = Math.Max(highest, entry.ModRevision);
                        var type = change.Type == Event.Types.EventType.Delete ? WatchEventType.Delete : WatchEventType.Put;
                        yield return new WatchEvent(type, entry);
                    }

                    // A revision's events arrive together, so everything up to the highest one is delivered.
                    next = highest + 1;
                }

                var delay = backoff.Next();
                ClientLog.StreamBroken(_logger, stream, $"{reason}; resuming from revision {next}", delay, null);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
