using System.Collections.Concurrent;
using System.Globalization;
using k8s;
using k8s.Models;

namespace Kuorum.Operator.Runtime;

/// <summary>Types of Events.</summary>
internal static class EventTypes
{
    public const string Normal = "Normal";
    public const string Warning = "Warning";
}

/// <summary>Records Events about objects. Failures to record are logged, never thrown: an Event is a courtesy.</summary>
internal interface IEventRecorder
{
    Task RecordAsync(IKubernetesObject<V1ObjectMeta> subject, string type, string reason, string message, CancellationToken ct);
}

/// <summary>
/// Writes core/v1 Events. A repeat of the same reason and message for the same object within ten minutes raises the
/// count of the existing Event (a merge patch) instead of creating another, as the kubelet's recorder does.
/// </summary>
internal sealed partial class EventRecorder : IEventRecorder
{
    private static readonly TimeSpan AggregationWindow = TimeSpan.FromMinutes(10);
    private readonly IKubernetes _client;
    private readonly string _component;
    private readonly string _instance;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, (string Name, int Count, DateTimeOffset Last)> _recent = new();

    public EventRecorder(IKubernetes client, string component, string instance, TimeProvider time, ILogger logger)
    {
        _client = client;
        _component = component;
        _instance = instance;
        _time = time;
        _logger = logger;
    }

    public async Task RecordAsync(IKubernetesObject<V1ObjectMeta> subject, string type, string reason, string message, CancellationToken ct)
    {
        var ns = subject.Metadata.NamespaceProperty ?? "default";
        var now = _time.GetUtcNow();
        var key = $"{ns}/{subject.Kind}/{subject.Metadata.Name}/{subject.Metadata.Uid}/{reason}/{message}";
        try
        {
            if (_recent.TryGetValue(key, out var previous) && now - previous.Last < AggregationWindow)
            {
                var count = previous.Count + 1;
                var patch = new V1Patch(
                    $$"""{"count":{{count}},"lastTimestamp":"{{now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)}}"}""",
                    V1Patch.PatchType.MergePatch);
                await _client.CoreV1.PatchNamespacedEventAsync(patch, previous.Name, ns, cancellationToken: ct).ConfigureAwait(false);
                _recent[key] = (previous.Name, count, now);
                return;
            }

            var name = $"{subject.Metadata.Name}.{now.ToUnixTimeMilliseconds():x}{Random.Shared.Next(0x1000):x3}";
            var created = new Corev1Event
            {
                Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
                InvolvedObject = new V1ObjectReference
                {
                    ApiVersion = subject.ApiVersion,
                    Kind = subject.Kind,
                    Name = subject.Metadata.Name,
                    NamespaceProperty = ns,
                    Uid = subject.Metadata.Uid,
                    ResourceVersion = subject.Metadata.ResourceVersion,
                },
                Reason = reason,
                Message = message,
                Type = type,
                Count = 1,
                FirstTimestamp = now.UtcDateTime,
                LastTimestamp = now.UtcDateTime,
                Source = new V1EventSource { Component = _component },
                ReportingComponent = _component,
                ReportingInstance = _instance,
            };
            await _client.CoreV1.CreateNamespacedEventAsync(created, ns, cancellationToken: ct).ConfigureAwait(false);
            _recent[key] = (name, 1, now);
            foreach (var (oldKey, old) in _recent)
            {
                if (now - old.Last > AggregationWindow)
                {
                    _recent.TryRemove(oldKey, out _);
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.EventFailed(_logger, reason, subject.Metadata.Name, e.Message);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1300, Level = LogLevel.Warning, Message = "Could not record event {Reason} on {Name}: {Error}")]
        public static partial void EventFailed(ILogger logger, string reason, string name, string error);
    }
}
