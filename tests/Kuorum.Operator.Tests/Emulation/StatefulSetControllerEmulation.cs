using System.Globalization;
using System.Text.Json.Nodes;

namespace Kuorum.Operator.Tests.Emulation;

/// <summary>
/// An EMULATION of the StatefulSet controller, in process beside the API server emulation: for each StatefulSet it
/// keeps pods name-0 … name-(replicas-1) (created in parallel, deleted from the highest ordinal), hands them to a
/// kubelet emulation, and writes the StatefulSet's status. Template changes do not roll pods (updatedReplicas is
/// reported as replicas); there are no PersistentVolumeClaims.
/// </summary>
public sealed class StatefulSetControllerEmulation : IAsyncDisposable
{
    private readonly EmulatedStore _store;
    private readonly IKubeletEmulation _kubelet;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public StatefulSetControllerEmulation(EmulatedStore store, IKubeletEmulation kubelet)
    {
        _store = store;
        _kubelet = kubelet;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Every replica count a StatefulSet was set to, in order, by namespace/name.</summary>
    public Dictionary<string, List<int>> ReplicaHistory { get; } = [];

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        await foreach (var change in _store.Changes.ReadAllAsync(_stop.Token))
        {
            if (change.Resource == EmulatedResources.StatefulSets && change.Type != "DELETED")
            {
                Sync(change.Namespace, change.Object["metadata"]!["name"]!.GetValue<string>());
            }
            else if (change.Resource == EmulatedResources.Pods && change.Object["metadata"]?["ownerReferences"] is JsonArray owners
                     && owners.FirstOrDefault(o => o?["kind"]?.GetValue<string>() == "StatefulSet") is { } owner)
            {
                if (change.Type == "DELETED")
                {
                    _kubelet.Stopped(change.Object);
                }

                Sync(change.Namespace, owner["name"]!.GetValue<string>());
            }
        }
    }

    private void Sync(string ns, string name)
    {
        var sts = _store.Get(EmulatedResources.StatefulSets, ns, name);
        if (sts is null)
        {
            return;
        }

        var replicas = sts["spec"]?["replicas"] is { } r ? int.Parse(r.ToJsonString(), CultureInfo.InvariantCulture) : 1;
        var history = ReplicaHistory.TryGetValue($"{ns}/{name}", out var h) ? h : ReplicaHistory[$"{ns}/{name}"] = [];
        lock (history)
        {
            if (history.Count == 0 || history[^1] != replicas)
            {
                history.Add(replicas);
            }
        }

        var selector = string.Join(',', (sts["spec"]?["selector"]?["matchLabels"] as JsonObject ?? []).Select(p => $"{p.Key}={p.Value}"));
        var (pods, _) = _store.List(EmulatedResources.Pods, ns, LabelSelector.Parse(selector));
        var byOrdinal = pods.ToDictionary(p => Ordinal(p["metadata"]!["name"]!.GetValue<string>()));

        for (var ordinal = 0; ordinal < replicas; ordinal++)
        {
            if (!byOrdinal.ContainsKey(ordinal))
            {
                CreatePod(sts, ns, name, ordinal);
            }
        }

        foreach (var ordinal in byOrdinal.Keys.Where(o => o >= replicas).OrderByDescending(o => o))
        {
            try
            {
                _store.Delete(EmulatedResources.Pods, ns, $"{name}-{ordinal}");
            }
            catch (EmulationException)
            {
            }
        }

        (pods, _) = _store.List(EmulatedResources.Pods, ns, LabelSelector.Parse(selector));
        var ready = pods.Count(p => p["status"]?["conditions"] is JsonArray c && c.Any(x => x?["type"]?.GetValue<string>() == "Ready" && x["status"]?.GetValue<string>() == "True"));
        try
        {
            _store.Mutate(EmulatedResources.StatefulSets, ns, name, o =>
            {
                o["status"] = new JsonObject
                {
                    ["observedGeneration"] = o["metadata"]!["generation"]!.DeepClone(),
                    ["replicas"] = pods.Count,
                    ["readyReplicas"] = ready,
                    ["availableReplicas"] = ready,
                    ["currentReplicas"] = pods.Count,
                    ["updatedReplicas"] = pods.Count,
                };
                return o;
            }, "status");
        }
        catch (EmulationException)
        {
        }
    }

    private void CreatePod(JsonObject sts, string ns, string name, int ordinal)
    {
        var template = sts["spec"]?["template"]?.DeepClone().AsObject() ?? [];
        var podName = $"{name}-{ordinal.ToString(CultureInfo.InvariantCulture)}";
        var meta = template["metadata"]?.DeepClone() as JsonObject ?? [];
        meta["name"] = podName;
        meta["namespace"] = ns;
        var labels = meta["labels"]?.DeepClone() as JsonObject ?? [];
        labels["statefulset.kubernetes.io/pod-name"] = podName;
        labels["apps.kubernetes.io/pod-index"] = ordinal.ToString(CultureInfo.InvariantCulture);
        meta["labels"] = labels;
        meta["ownerReferences"] = new JsonArray(new JsonObject
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "StatefulSet",
            ["name"] = name,
            ["uid"] = sts["metadata"]!["uid"]!.DeepClone(),
            ["controller"] = true,
        });
        var spec = template["spec"]?.DeepClone() as JsonObject ?? [];
        spec["hostname"] = podName;
        spec["subdomain"] = sts["spec"]?["serviceName"]?.DeepClone();
        var pod = new JsonObject { ["metadata"] = meta, ["spec"] = spec, ["status"] = new JsonObject { ["phase"] = "Pending" } };
        try
        {
            var created = _store.Create(EmulatedResources.Pods, ns, pod);
            if (_kubelet.Started(created) is { } status)
            {
                _store.Mutate(EmulatedResources.Pods, ns, podName, o =>
                {
                    o["status"] = status;
                    return o;
                }, "status");
            }
        }
        catch (EmulationException)
        {
        }
    }

    private static int Ordinal(string podName) =>
        int.Parse(podName[(podName.LastIndexOf('-') + 1)..], CultureInfo.InvariantCulture);
}
