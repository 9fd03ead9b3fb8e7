using System.Text.Json.Nodes;

namespace Kuorum.Operator.Tests.Emulation;

/// <summary>
/// What runs a pod in the emulation. The StatefulSet controller emulation creates and deletes pod objects; a kubelet
/// emulation decides what that means and reports the pod's status. The instant kubelet below only pretends;
/// <see cref="AgentKubeletEmulation"/> starts a real agent process with the pod's environment (resolving fieldRefs
/// and envFrom) in a network namespace of its own, and reports Ready from the agent's /readyz.
/// </summary>
public interface IKubeletEmulation
{
    /// <summary>A pod object was created; returns its status (or null to leave it Pending until <see cref="EmulatedStore.Mutate"/> is called).</summary>
    JsonObject? Started(JsonObject pod);

    /// <summary>A pod object was deleted.</summary>
    void Stopped(JsonObject pod);
}

/// <summary>Every pod runs and is ready at once, at 127.0.0.(ordinal+10). Nothing is started.</summary>
public sealed class InstantKubeletEmulation : IKubeletEmulation
{
    public JsonObject? Started(JsonObject pod)
    {
        var name = pod["metadata"]!["name"]!.GetValue<string>();
        var ordinal = int.Parse(name[(name.LastIndexOf('-') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        return new JsonObject
        {
            ["phase"] = "Running",
            ["podIP"] = $"127.0.0.{ordinal + 10}",
            ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = "True" }),
        };
    }

    public void Stopped(JsonObject pod)
    {
    }
}
