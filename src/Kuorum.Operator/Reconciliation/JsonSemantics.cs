using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Kuorum.Operator.Reconciliation;

/// <summary>
/// Compares and merges objects as JSON so that fields the API server fills in (defaults, cluster IPs, status) neither
/// count as drift nor get wiped by an update: the operator owns the fields it sets and leaves the rest alone.
/// </summary>
internal static class JsonSemantics
{
    /// <summary>Whether every field set in <paramref name="desired"/> has the same value in <paramref name="actual"/>.</summary>
    public static bool IsSubset(JsonNode? desired, JsonNode? actual, string path = "")
    {
        switch (desired)
        {
            case null:
                return true;
            case JsonObject desiredObject:
                if (desiredObject.Count == 0)
                {
                    return actual is null or JsonObject;
                }

                if (actual is not JsonObject actualObject)
                {
                    return false;
                }

                foreach (var (key, value) in desiredObject)
                {
                    if (!IsSubset(value, actualObject[key], path + "." + key))
                    {
                        return false;
                    }
                }

                return true;
            case JsonArray desiredArray:
                if (desiredArray.Count == 0)
                {
                    return actual is null || actual is JsonArray { Count: 0 };
                }

                if (actual is not JsonArray actualArray)
                {
                    return false;
                }

                if (path == ".metadata.ownerReferences")
                {
                    return desiredArray.All(d => actualArray.Any(a => IsSubset(d, a, path + "[]")));
                }

                if (actualArray.Count != desiredArray.Count)
                {
                    return false;
                }

                for (var i = 0; i < desiredArray.Count; i++)
                {
                    if (!IsSubset(desiredArray[i], actualArray[i], path + "[]"))
                    {
                        return false;
                    }
                }

                return true;
            default:
                return actual is JsonValue actualValue && ValuesEqual(desired.AsValue(), actualValue);
        }
    }

    /// <summary>
    /// The existing object with the desired fields laid over it: objects merge key by key, arrays and values are
    /// replaced, and the paths in <paramref name="replaceWhole"/> are replaced as a whole (so a field removed from
    /// the desired object goes away there). Owner references are added, never removed.
    /// </summary>
    public static JsonNode Merge(JsonNode existing, JsonNode desired, IReadOnlySet<string> replaceWhole, string path = "")
    {
        if (existing is not JsonObject existingObject || desired is not JsonObject desiredObject || replaceWhole.Contains(path))
        {
            if (path == ".metadata.ownerReferences" && existing is JsonArray have && desired is JsonArray want)
            {
                var merged = (JsonArray)have.DeepClone();
                foreach (var reference in want)
                {
                    if (!have.Any(h => IsSubset(reference, h)))
                    {
                        merged.Add(reference?.DeepClone());
                    }
                }

                return merged;
            }

            return desired.DeepClone();
        }

        var result = (JsonObject)existingObject.DeepClone();
        foreach (var (key, value) in desiredObject)
        {
            if (value is null)
            {
                continue;
            }

            var childPath = path + "." + key;
            result[key] = result[key] is { } current ? Merge(current, value, replaceWhole, childPath) : value.DeepClone();
        }

        return result;
    }

    private static bool ValuesEqual(JsonValue desired, JsonValue actual)
    {
        var d = desired.GetValueKind();
        var a = actual.GetValueKind();
        if (d == JsonValueKind.Number && a == JsonValueKind.Number)
        {
            return decimal.Parse(desired.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture)
                   == decimal.Parse(actual.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        return d == a && desired.ToJsonString() == actual.ToJsonString();
    }
}
