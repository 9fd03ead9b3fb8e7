using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Kuorum.Operator.Runtime;

/// <summary>An informer as the runtime sees it: something to run until synced and then for good.</summary>
internal interface IInformer
{
    string Kind { get; }

    bool HasSynced { get; }

    Task RunAsync(CancellationToken ct);
}

/// <summary>A change the informer saw.</summary>
/// <typeparam name="T">The object type.</typeparam>
/// <param name="Type">Added, Modified or Deleted.</param>
/// <param name="Object">The object after the change (the last known state for a deletion).</param>
internal readonly record struct InformerEvent<T>(WatchEventType Type, T Object);

/// <summary>
/// List-then-watch with a local cache, like client-go's reflector: it lists (in pages), then watches from the list's
/// resourceVersion, resumes every watch from the last resourceVersion it saw (including bookmarks), and lists again
/// only when the server answers 410 Gone. A relist reports the difference to the cache as events, so a handler sees
/// deletions that happened while no watch was open.
/// </summary>
/// <typeparam name="T">The object type.</typeparam>
/// <typeparam name="TList">The list type.</typeparam>
internal sealed partial class Informer<T, TList> : IInformer
    where T : class, IKubernetesObject<V1ObjectMeta>
    where TList : class, IItems<T>, IMetadata<V1ListMeta>
{
    private readonly IKubernetes _client;
    private readonly ResourceKind<T, TList> _kind;
    private readonly string? _namespace;
    private readonly string? _labelSelector;
    private readonly InformerSettings _settings;
    private readonly OperatorMetrics _metrics;
    private readonly ILogger _logger;
    private readonly List<Action<InformerEvent<T>>> _handlers = [];
    private volatile bool _synced;

    public Informer(
        IKubernetes client,
        ResourceKind<T, TList> kind,
        string? ns,
        string? labelSelector,
        InformerSettings settings,
        OperatorMetrics metrics,
        ILogger logger)
    {
        _client = client;
        _kind = kind;
        _namespace = string.IsNullOrEmpty(ns) ? null : ns;
        _labelSelector = labelSelector;
        _settings = settings;
        _metrics = metrics;
        _logger = logger;
    }

    public string Kind => _kind.Name;

    public ObjectCache<T> Cache { get; } = new();

    public bool HasSynced => _synced;

    /// <summary>The resource version the next watch resumes from; null when the next step is a list.</summary>
    public string? LastResourceVersion { get; private set; }

    /// <summary>Adds a handler; handlers run on the informer's loop and must only enqueue work.</summary>
    public void AddHandler(Action<InformerEvent<T>> handler) => _handlers.Add(handler);

    public async Task RunAsync(CancellationToken ct)
    {
        var failures = 0;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (LastResourceVersion is null)
                {
                    LastResourceVersion = await RelistAsync(ct).ConfigureAwait(false);
                    _synced = true;
                }

                await WatchAsync(ct).ConfigureAwait(false);
                failures = 0;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (WatchExpiredException)
            {
                Log.WatchExpired(_logger, Kind, LastResourceVersion);
                _metrics.RecordRelist(Kind, "expired");
                LastResourceVersion = null;
            }
            catch (Exception e)
            {
                failures++;
                Log.WatchFailed(_logger, Kind, e.Message);
                _metrics.RecordWatchError(Kind);
                var delay = TimeSpan.FromMilliseconds(Math.Min(
                    _settings.MaxRetryDelay.TotalMilliseconds,
                    _settings.InitialRetryDelay.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 16))));
                try
                {
                    await Task.Delay(delay, _settings.TimeProvider, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    private async Task<string> RelistAsync(CancellationToken ct)
    {
        var seen = new Dictionary<ObjectKey, T>();
        string? continueToken = null;
        var resourceVersion = "";
        do
        {
            (IList<T> Items, string ResourceVersion, string? Continue) page;
            try
            {
                page = await _kind.ListAsync(_client, _namespace,
                    new ListRequest(_labelSelector, null, continueToken, _settings.PageSize, false, null), ct).ConfigureAwait(false);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Gone && continueToken is not null)
            {
                // The continue token expired between pages: start over.
                seen.Clear();
                continueToken = null;
                continue;
            }

            foreach (var item in page.Items)
            {
                seen[ObjectKey.Of(item)] = item;
            }

            continueToken = string.IsNullOrEmpty(page.Continue) ? null : page.Continue;
            resourceVersion = page.ResourceVersion;
        }
        while (continueToken is not null);

        foreach (var key in Cache.Keys())
        {
            if (!seen.ContainsKey(key) && Cache.Remove(key, out var gone) && gone is not null)
            {
                Dispatch(new InformerEvent<T>(WatchEventType.Deleted, gone));
            }
        }

        foreach (var (key, item) in seen)
        {
            var old = Cache.Get(key);
            Cache.Set(item);
            if (old is null)
            {
                Dispatch(new InformerEvent<T>(WatchEventType.Added, item));
            }
            else if (old.Metadata.ResourceVersion != item.Metadata.ResourceVersion)
            {
                Dispatch(new InformerEvent<T>(WatchEventType.Modified, item));
            }
        }

        _metrics.RecordRelist(Kind, "list");
        Log.Listed(_logger, Kind, seen.Count, resourceVersion);
        return resourceVersion;
    }

    private async Task WatchAsync(CancellationToken ct)
    {
        var expired = false;
        Exception? streamError = null;
        var timeout = _settings.MinWatchTimeout + TimeSpan.FromSeconds(
            Random.Shared.NextDouble() * _settings.MinWatchTimeout.TotalSeconds);
        var request = new ListRequest(_labelSelector, LastResourceVersion, null, null, true, (int)timeout.TotalSeconds);

        void OnError(Exception e)
        {
            if (e is KubernetesException { Status.Code: (int)HttpStatusCode.Gone })
            {
                expired = true;
            }
            else
            {
                streamError ??= e;
            }
        }

        try
        {
            await foreach (var (type, obj) in _kind.WatchAsync(_client, _namespace, request, OnError, ct).ConfigureAwait(false))
            {
                if (expired)
                {
                    break;
                }

                Apply(type, obj);
            }
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Gone)
        {
            expired = true;
        }

        if (expired)
        {
            throw new WatchExpiredException();
        }

        if (streamError is not null)
        {
            throw new IOException($"watch of {Kind} failed: {streamError.Message}", streamError);
        }

        // The server closed the watch (its timeout, or a dropped connection): resume from the last version seen.
        _metrics.RecordWatchRestart(Kind);
    }

    private void Apply(WatchEventType type, T obj)
    {
        if (obj.Metadata?.ResourceVersion is { Length: > 0 } version)
        {
            LastResourceVersion = version;
        }

        switch (type)
        {
            case WatchEventType.Added or WatchEventType.Modified:
                var old = Cache.Get(ObjectKey.Of(obj));
                Cache.Set(obj);
                Dispatch(new InformerEvent<T>(old is null ? WatchEventType.Added : WatchEventType.Modified, obj));
                break;
            case WatchEventType.Deleted:
                Cache.Remove(ObjectKey.Of(obj), out _);
                Dispatch(new InformerEvent<T>(WatchEventType.Deleted, obj));
                break;
            default:
                // Bookmark: only the resource version moves.
                break;
        }
    }

    private void Dispatch(InformerEvent<T> change)
    {
        foreach (var handler in _handlers)
        {
            handler(change);
        }
    }

    private sealed class WatchExpiredException : Exception;

    private static partial class Log
    {
        [LoggerMessage(EventId = 1100, Level = LogLevel.Debug, Message = "Listed {Kind}: {Count} objects at resourceVersion {ResourceVersion}")]
        public static partial void Listed(ILogger logger, string kind, int count, string resourceVersion);

        [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Watch of {Kind} from resourceVersion {ResourceVersion} expired (410 Gone); listing again")]
        public static partial void WatchExpired(ILogger logger, string kind, string? resourceVersion);

        [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "Watch of {Kind} failed, resuming: {Error}")]
        public static partial void WatchFailed(ILogger logger, string kind, string error);
    }
}

/// <summary>Timing of informers.</summary>
internal sealed class InformerSettings
{
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>A watch asks the server to close it after a random time between this and twice this.</summary>
    public TimeSpan MinWatchTimeout { get; init; } = TimeSpan.FromMinutes(5);

    public TimeSpan InitialRetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    public int PageSize { get; init; } = 500;
}
