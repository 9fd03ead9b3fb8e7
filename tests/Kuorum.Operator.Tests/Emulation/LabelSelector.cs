using System.Text.Json.Nodes;

namespace Kuorum.Operator.Tests.Emulation;

/// <summary>Equality-based label selectors: <c>a=b</c>, <c>a==b</c>, <c>a!=b</c>, <c>a</c>, <c>!a</c>, joined by commas.</summary>
public sealed class LabelSelector
{
    private readonly List<Func<IDictionary<string, string>, bool>> _terms = [];

    public static readonly LabelSelector Everything = new();

    public static LabelSelector Parse(string? text)
    {
        var selector = new LabelSelector();
        foreach (var raw in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (raw.Contains("!=", StringComparison.Ordinal))
            {
                var (k, v) = Split(raw, "!=");
                selector._terms.Add(l => !l.TryGetValue(k, out var x) || x != v);
            }
            else if (raw.Contains('=', StringComparison.Ordinal))
            {
                var (k, v) = Split(raw, raw.Contains("==", StringComparison.Ordinal) ? "==" : "=");
                selector._terms.Add(l => l.TryGetValue(k, out var x) && x == v);
            }
            else if (raw.StartsWith('!'))
            {
                var k = raw[1..];
                selector._terms.Add(l => !l.ContainsKey(k));
            }
            else
            {
                selector._terms.Add(l => l.ContainsKey(raw));
            }
        }

        return selector;
    }

    public bool Matches(JsonObject obj)
    {
        var labels = new Dictionary<string, string>();
        if (obj["metadata"]?["labels"] is JsonObject l)
        {
            foreach (var (k, v) in l)
            {
                labels[k] = v?.GetValue<string>() ?? "";
            }
        }

        return _terms.All(t => t(labels));
    }

    private static (string, string) Split(string term, string op)
    {
        var i = term.IndexOf(op, StringComparison.Ordinal);
        return (term[..i].Trim(), term[(i + op.Length)..].Trim());
    }
}
