using System.Text.RegularExpressions;
using k8s.Models;
using Kuorum.Operator.Resources;

namespace Kuorum.Operator.Reconciliation;

/// <summary>
/// The CRD's bounds and CEL rules, checked again in the operator: an API server that does not enforce them (an old
/// one, or a spec written before a rule existed) must not get a cluster that cannot work. Each problem says what to
/// change.
/// </summary>
internal static partial class SpecValidator
{
    public static IReadOnlyList<string> Validate(EffectiveSpec spec, V1StatefulSet? existing)
    {
        var problems = new List<string>();
        if (spec.Replicas is < 1 or > ConsensusClusterSpec.MaxReplicas)
        {
            problems.Add($"spec.replicas is {spec.Replicas}; set it from 1 to {ConsensusClusterSpec.MaxReplicas}");
        }

        var heartbeatOk = Duration(problems, "spec.timing.heartbeatInterval", spec.HeartbeatInterval, out var heartbeat);
        var electionOk = Duration(problems, "spec.timing.electionTimeout", spec.ElectionTimeout, out var election);
        if (heartbeatOk && (heartbeat < TimeSpan.FromMilliseconds(10) || heartbeat > TimeSpan.FromSeconds(10)))
        {
            problems.Add($"spec.timing.heartbeatInterval is {spec.HeartbeatInterval}; set it from 10ms to 10s");
        }

        if (electionOk && (election < TimeSpan.FromMilliseconds(50) || election > TimeSpan.FromSeconds(60)))
        {
            problems.Add($"spec.timing.electionTimeout is {spec.ElectionTimeout}; set it from 50ms to 60s");
        }

        if (heartbeatOk && electionOk && heartbeat * 2 >= election)
        {
            problems.Add($"spec.timing.heartbeatInterval ({spec.HeartbeatInterval}) must be less than half of electionTimeout ({spec.ElectionTimeout})");
        }

        var periodOk = Duration(problems, "spec.probe.period", spec.ProbePeriod, out var period);
        var timeoutOk = Duration(problems, "spec.probe.timeout", spec.ProbeTimeout, out var timeout);
        Duration(problems, "spec.probe.initialDelay", spec.ProbeInitialDelay, out _);
        if (periodOk && timeoutOk && timeout > period)
        {
            problems.Add($"spec.probe.timeout ({spec.ProbeTimeout}) must not exceed spec.probe.period ({spec.ProbePeriod})");
        }

        if (spec.ProbeKind is not (ProbeKinds.Http or ProbeKinds.Tcp or ProbeKinds.Grpc or ProbeKinds.None))
        {
            problems.Add($"spec.probe.kind is '{spec.ProbeKind}'; use http, tcp, grpc or none");
        }
        else if (spec.ProbeKind != ProbeKinds.None && spec.ProbePort is null)
        {
            problems.Add($"spec.probe.port is required when spec.probe.kind is {spec.ProbeKind}");
        }

        if (spec.ProbeKind == ProbeKinds.Http && string.IsNullOrEmpty(spec.ProbePath))
        {
            problems.Add("spec.probe.path is required when spec.probe.kind is http");
        }

        if (spec.WeightingStrategy is not (WeightingStrategies.LeaderOnly or WeightingStrategies.Random or WeightingStrategies.RoundRobin
            or WeightingStrategies.Weighted or WeightingStrategies.LeastRequest))
        {
            problems.Add($"spec.weightingStrategy is '{spec.WeightingStrategy}'; use leader-only, random, round-robin, weighted or least-request");
        }

        if (spec.TlsMode is not (TlsModes.Auto or TlsModes.Secret or TlsModes.Disabled))
        {
            problems.Add($"spec.tls.mode is '{spec.TlsMode}'; use Auto, Secret or Disabled");
        }
        else if (spec.TlsMode == TlsModes.Secret && string.IsNullOrEmpty(spec.TlsSecretName))
        {
            problems.Add("spec.tls.secretName is required when spec.tls.mode is Secret; name a kubernetes.io/tls Secret with tls.crt, tls.key and ca.crt");
        }
        else if (spec.TlsMode == TlsModes.Secret && !DnsSubdomain().IsMatch(spec.TlsSecretName!))
        {
            problems.Add($"spec.tls.secretName '{spec.TlsSecretName}' is not a Secret name (lower-case letters, digits, '-' and '.', at most 253)");
        }

        if (!Quantity().IsMatch(spec.StorageSize))
        {
            problems.Add($"spec.storage.size '{spec.StorageSize}' is not a quantity; write it like 1Gi");
        }

        var containers = spec.Template.Spec?.Containers;
        if (containers is null || containers.Count == 0)
        {
            problems.Add("spec.template.spec.containers is empty; give the application at least one container");
        }
        else if (containers.Any(c => c.Name == ClusterNames.AgentContainer))
        {
            problems.Add($"the container name '{ClusterNames.AgentContainer}' is reserved for the sidecar; rename the application container");
        }

        if (existing?.Spec?.VolumeClaimTemplates?.FirstOrDefault(t => t.Metadata?.Name == ClusterNames.DataVolume) is { } claim)
        {
            var size = claim.Spec?.Resources?.Requests?.TryGetValue("storage", out var q) == true ? q.ToString() : null;
            if (size is not null && size != spec.StorageSize)
            {
                problems.Add($"spec.storage.size cannot change from {size} to {spec.StorageSize} (volume claim templates are immutable); set it back to {size}");
            }

            if ((claim.Spec?.StorageClassName ?? "") != (spec.StorageClassName ?? ""))
            {
                problems.Add($"spec.storage.storageClassName cannot change from '{claim.Spec?.StorageClassName}' to '{spec.StorageClassName}'; set it back");
            }
        }

        return problems;
    }

    private static bool Duration(List<string> problems, string field, string value, out TimeSpan duration)
    {
        if (Durations.TryParse(value, out duration))
        {
            return true;
        }

        problems.Add($"{field} '{value}' is not a duration; write it like 100ms, 1s or 1m30s");
        return false;
    }

    [GeneratedRegex(Quantities.Pattern)]
    private static partial Regex Quantity();

    [GeneratedRegex("^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex DnsSubdomain();
}
