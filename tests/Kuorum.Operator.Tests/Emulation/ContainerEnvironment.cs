using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Kuorum.Operator.Tests.Emulation;

/// <summary>
/// A container's environment as a kubelet builds it, part of the kubelet EMULATION: <c>envFrom</c> first
/// (ConfigMaps and Secrets, with <c>prefix</c> and <c>optional</c>), then <c>env</c> in order (literal values with
/// <c>$(VAR)</c> expansion and <c>$$</c> escapes; <c>valueFrom</c> fieldRef, configMapKeyRef and secretKeyRef). A
/// missing non-optional source is the kubelet's CreateContainerConfigError: <see cref="ContainerConfigException"/>.
/// resourceFieldRef is not emulated.
/// </summary>
public static partial class ContainerEnvironment
{
    public static Dictionary<string, string> Resolve(EmulatedStore store, JsonObject pod, JsonObject container)
    {
        var ns = pod["metadata"]!["namespace"]!.GetValue<string>();
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var from in container["envFrom"]?.AsArray() ?? [])
        {
            var prefix = from?["prefix"]?.GetValue<string>() ?? "";
            IEnumerable<KeyValuePair<string, string>> values;
            if (from?["configMapRef"] is JsonObject cmRef)
            {
                values = Data(store, EmulatedResources.ConfigMaps, ns, cmRef, secret: false);
            }
            else if (from?["secretRef"] is JsonObject secretRef)
            {
                values = Data(store, EmulatedResources.Secrets, ns, secretRef, secret: true);
            }
            else
            {
                continue;
            }

            foreach (var (key, value) in values)
            {
                if (EnvName().IsMatch(prefix + key))
                {
                    env[prefix + key] = value;
                }
            }
        }

        foreach (var entry in container["env"]?.AsArray() ?? [])
        {
            var name = entry!["name"]!.GetValue<string>();
            if (entry["valueFrom"] is JsonObject source)
            {
                if (ValueFrom(store, pod, ns, name, source) is { } value)
                {
                    env[name] = value;
                }
            }
            else
            {
                env[name] = Expand(entry["value"]?.GetValue<string>() ?? "", env);
            }
        }

        return env;
    }

    /// <summary>Kubernetes' <c>$(VAR)</c> expansion: defined variables are replaced, undefined ones left as written, <c>$$</c> is a literal <c>$</c>.</summary>
    public static string Expand(string value, IReadOnlyDictionary<string, string> defined)
    {
        var result = new StringBuilder();
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '$' && i + 1 < value.Length && value[i + 1] == '$')
            {
                result.Append('$');
                i++;
            }
            else if (value[i] == '$' && i + 1 < value.Length && value[i + 1] == '(' && value.IndexOf(')', i + 2) is var close && close > 0)
            {
                var name = value[(i + 2)..close];
                result.Append(defined.TryGetValue(name, out var v) ? v : value[i..(close + 1)]);
                i = close;
            }
            else
            {
                result.Append(value[i]);
            }
        }

        return result.ToString();
    }

    private static string? ValueFrom(EmulatedStore store, JsonObject pod, string ns, string name, JsonObject source)
    {
        if (source["fieldRef"]?["fieldPath"]?.GetValue<string>() is { } path)
        {
            return FieldRef(pod, path) ?? throw new ContainerConfigException($"{name}: fieldRef {path} is not supported");
        }

        foreach (var (kind, resource, secret) in new[] { ("configMapKeyRef", EmulatedResources.ConfigMaps, false), ("secretKeyRef", EmulatedResources.Secrets, true) })
        {
            if (source[kind] is JsonObject keyRef)
            {
                var key = keyRef["key"]!.GetValue<string>();
                var data = Data(store, resource, ns, keyRef, secret).ToDictionary();
                if (data.TryGetValue(key, out var value))
                {
                    return value;
                }

                return keyRef["optional"]?.GetValue<bool>() == true
                    ? null
                    : throw new ContainerConfigException($"{name}: key {key} not found in {resource.Kind} {keyRef["name"]}");
            }
        }

        throw new ContainerConfigException($"{name}: valueFrom {source.ToJsonString()} is not emulated");
    }

    private static string? FieldRef(JsonObject pod, string path)
    {
        var meta = pod["metadata"]!;
        var match = Subscript().Match(path);
        if (match.Success)
        {
            var map = match.Groups[1].Value == "labels" ? meta["labels"] : meta["annotations"];
            return map?[match.Groups[2].Value]?.GetValue<string>() ?? "";
        }

        return path switch
        {
            "metadata.name" => meta["name"]?.GetValue<string>(),
            "metadata.namespace" => meta["namespace"]?.GetValue<string>(),
            "metadata.uid" => meta["uid"]?.GetValue<string>(),
            "spec.nodeName" => pod["spec"]?["nodeName"]?.GetValue<string>() ?? "emulated-node",
            "spec.serviceAccountName" => pod["spec"]?["serviceAccountName"]?.GetValue<string>() ?? "default",
            "status.podIP" or "status.podIPs" => pod["status"]?["podIP"]?.GetValue<string>() ?? "",
            "status.hostIP" or "status.hostIPs" => pod["status"]?["hostIP"]?.GetValue<string>() ?? "",
            _ => null,
        };
    }

    private static IEnumerable<KeyValuePair<string, string>> Data(EmulatedStore store, EmulatedResource resource, string ns, JsonObject reference, bool secret)
    {
        var name = reference["name"]?.GetValue<string>() ?? "";
        var obj = store.Get(resource, ns, name);
        if (obj is null)
        {
            return reference["optional"]?.GetValue<bool>() == true
                ? []
                : throw new ContainerConfigException($"{resource.Kind.ToLowerInvariant()} \"{name}\" not found");
        }

        var data = (obj["data"] as JsonObject ?? []).Select(p => KeyValuePair.Create(p.Key, secret
            ? Encoding.UTF8.GetString(Convert.FromBase64String(p.Value!.GetValue<string>()))
            : p.Value!.GetValue<string>()));
        var stringData = secret ? (obj["stringData"] as JsonObject ?? []).Select(p => KeyValuePair.Create(p.Key, p.Value!.GetValue<string>())) : [];
        return [.. data, .. stringData];
    }

    [GeneratedRegex("^[-._a-zA-Z][-._a-zA-Z0-9]*$")]
    private static partial Regex EnvName();

    [GeneratedRegex(@"^metadata\.(labels|annotations)\['([^']+)'\]$")]
    private static partial Regex Subscript();
}

/// <summary>The kubelet's CreateContainerConfigError: the container cannot start until its configuration exists.</summary>
public sealed class ContainerConfigException(string message) : Exception(message);
