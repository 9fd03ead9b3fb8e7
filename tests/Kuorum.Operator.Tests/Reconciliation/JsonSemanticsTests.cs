using System.Text.Json.Nodes;
using Kuorum.Operator.Reconciliation;

namespace Kuorum.Operator.Tests.Reconciliation;

public sealed class JsonSemanticsTests
{
    private static readonly IReadOnlySet<string> None = new HashSet<string>();

    [Fact]
    public void IsSubset_ServerAddedFields_AreNotDrift()
    {
        var desired = JsonNode.Parse("""{"spec":{"ports":[{"port":80}],"selector":{"a":"b"}},"metadata":{"labels":{}}}""");
        var actual = JsonNode.Parse("""{"spec":{"clusterIP":"10.0.0.1","ports":[{"port":80,"protocol":"TCP"}],"selector":{"a":"b"}},"metadata":{"uid":"u"}}""");
        Assert.True(JsonSemantics.IsSubset(desired, actual));
    }

    [Fact]
    public void IsSubset_ChangedValueOrExtraListItem_IsDrift()
    {
        var desired = JsonNode.Parse("""{"spec":{"replicas":3,"ports":[{"port":80}]}}""");
        Assert.False(JsonSemantics.IsSubset(desired, JsonNode.Parse("""{"spec":{"replicas":5,"ports":[{"port":80}]}}""")));
        Assert.False(JsonSemantics.IsSubset(desired, JsonNode.Parse("""{"spec":{"replicas":3,"ports":[{"port":80},{"port":81}]}}""")));
        Assert.True(JsonSemantics.IsSubset(desired, JsonNode.Parse("""{"spec":{"replicas":3.0,"ports":[{"port":80}]}}""")));
    }

    [Fact]
    public void Merge_KeepsServerFields_ReplacesOwnedOnes()
    {
        var existing = JsonNode.Parse("""{"spec":{"clusterIP":"10.0.0.1","selector":{"a":"b","old":"x"}},"status":{"x":1}}""")!;
        var desired = JsonNode.Parse("""{"spec":{"selector":{"a":"c"}}}""")!;
        var merged = JsonSemantics.Merge(existing, desired, new HashSet<string> { ".spec.selector" });
        Assert.Equal("10.0.0.1", merged["spec"]!["clusterIP"]!.GetValue<string>());
        Assert.Equal("""{"a":"c"}""", merged["spec"]!["selector"]!.ToJsonString());
        Assert.Equal(1, merged["status"]!["x"]!.GetValue<int>());
    }

    [Fact]
    public void Merge_OwnerReferences_AreAddedNotReplaced()
    {
        var existing = JsonNode.Parse("""{"metadata":{"ownerReferences":[{"uid":"other"}]}}""")!;
        var desired = JsonNode.Parse("""{"metadata":{"ownerReferences":[{"uid":"mine"}]}}""")!;
        var merged = JsonSemantics.Merge(existing, desired, None);
        Assert.Equal(2, merged["metadata"]!["ownerReferences"]!.AsArray().Count);
        Assert.True(JsonSemantics.IsSubset(desired, merged));
    }
}
