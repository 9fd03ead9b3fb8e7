using k8s;
using k8s.Models;
using Kuorum.Operator.Crds;

namespace Kuorum.Operator.Tests.Crds;

public sealed class CrdGeneratorTests
{
    private static readonly V1CustomResourceDefinition Crd = CrdGenerator.ForOperatorAssembly().Build();

    private static V1JSONSchemaProps Schema => Crd.Spec.Versions[0].Schema.OpenAPIV3Schema;

    private static V1JSONSchemaProps Spec => Schema.Properties["spec"];

    [Fact]
    public void Build_Names_AreNamespacedWithShortNameCc()
    {
        Assert.Equal("consensusclusters.kuorum.io", Crd.Metadata.Name);
        Assert.Equal("Namespaced", Crd.Spec.Scope);
        Assert.Equal(["cc"], Crd.Spec.Names.ShortNames);
        Assert.Equal("v1alpha1", Crd.Spec.Versions.Single().Name);
    }

    [Fact]
    public void Build_Replicas_HasBoundsDefaultAndDescriptionFromXmlDocs()
    {
        var replicas = Spec.Properties["replicas"];
        Assert.Equal(1, replicas.Minimum);
        Assert.Equal(9, replicas.Maximum);
        Assert.Equal(3L, Convert.ToInt64(replicas.DefaultProperty, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains("odd number is recommended", replicas.Description, StringComparison.Ordinal);
        Assert.Contains("spec", Schema.Required);
    }

    [Fact]
    public void Build_Timing_HasHeartbeatBelowHalfElectionRule()
    {
        var timing = Spec.Properties["timing"];
        Assert.Contains(timing.XKubernetesValidations, r =>
            r.Rule == "duration(self.heartbeatInterval) + duration(self.heartbeatInterval) < duration(self.electionTimeout)"
            && r.Message.Contains("less than half", StringComparison.Ordinal));
        Assert.Equal("50ms", timing.Properties["heartbeatInterval"].DefaultProperty);
        Assert.Equal("500ms", timing.Properties["electionTimeout"].DefaultProperty);
        Assert.NotNull(timing.DefaultProperty);
    }

    [Fact]
    public void Build_CrossFieldRules_ArePresent()
    {
        Assert.Contains(Spec.Properties["probe"].XKubernetesValidations, r => r.Rule.Contains("has(self.port)", StringComparison.Ordinal));
        Assert.Contains(Spec.Properties["tls"].XKubernetesValidations, r => r.Rule.Contains("has(self.secretName)", StringComparison.Ordinal));
        Assert.Contains(Spec.Properties["storage"].XKubernetesValidations, r => r.Rule.Contains("oldSelf", StringComparison.Ordinal));
        Assert.Contains(Spec.XKubernetesValidations, r => r.Rule.Contains("kuorum-agent", StringComparison.Ordinal));
        Assert.Equal(
            ["leader-only", "random", "round-robin", "weighted", "least-request"],
            Spec.Properties["weightingStrategy"].EnumProperty.Select(v => v.ToString()));
    }

    [Fact]
    public void Build_Status_HasConditionsAsMapListAndMembers()
    {
        var status = Schema.Properties["status"];
        var conditions = status.Properties["conditions"];
        Assert.Equal("map", conditions.XKubernetesListType);
        Assert.Equal(["type"], conditions.XKubernetesListMapKeys);
        var condition = (V1JSONSchemaProps)conditions.Items;
        Assert.Equal(["type", "status", "lastTransitionTime", "reason", "message"], condition.Required);
        Assert.Contains("matchIndex", ((V1JSONSchemaProps)status.Properties["members"].Items).Properties.Keys);
    }

    [Fact]
    public void Build_Subresources_HaveStatusAndScale()
    {
        var version = Crd.Spec.Versions[0];
        Assert.NotNull(version.Subresources.Status);
        Assert.Equal(".spec.replicas", version.Subresources.Scale.SpecReplicasPath);
        Assert.Equal(".status.replicas", version.Subresources.Scale.StatusReplicasPath);
        Assert.Equal(".status.selector", version.Subresources.Scale.LabelSelectorPath);
        Assert.Equal(["Replicas", "Ready", "Leader", "Term", "Phase", "Age"], version.AdditionalPrinterColumns.Select(c => c.Name));
    }

    [Fact]
    public void BuildYaml_MatchesCheckedInCrd()
    {
        var path = Path.Combine(RepositoryRoot(), "crds", CrdGenerator.FileName);
        Assert.True(File.Exists(path), $"{path} is missing; run make crds");
        Assert.Equal(File.ReadAllText(path), CrdGenerator.ForOperatorAssembly().BuildYaml());
    }

    [Fact]
    public void BuildYaml_RoundTripsThroughKubernetesYaml()
    {
        var yaml = CrdGenerator.ForOperatorAssembly().BuildYaml();
        var parsed = KubernetesYaml.Deserialize<V1CustomResourceDefinition>(yaml);
        Assert.Equal("ConsensusCluster", parsed.Spec.Names.Kind);
        Assert.True(parsed.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["template"].XKubernetesPreserveUnknownFields);
    }

    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Operator.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }
}
