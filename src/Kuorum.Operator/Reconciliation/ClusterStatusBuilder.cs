using k8s.Models;
using Kuorum.Operator.Admin;
using Kuorum.Operator.Resources;

namespace Kuorum.Operator.Reconciliation;

/// <summary>What one reconcile observed, from which the status is computed.</summary>
internal sealed record Observation(
    EffectiveSpec Spec,
    V1StatefulSet? StatefulSet,
    MembershipView? View,
    MembershipPlan? Plan,
    IReadOnlyList<string> SpecProblems,
    string? Failure,
    string ProblemReason = "InvalidSpec");

/// <summary>Computes the status (phase, leader, members, conditions) from an observation. Pure.</summary>
internal static class ClusterStatusBuilder
{
    public static ConsensusClusterStatus Build(ConsensusCluster cluster, ClusterNames names, Observation o, DateTime now)
    {
        var previous = cluster.Status;
        var generation = cluster.Metadata.Generation ?? 0;
        var sts = o.StatefulSet;
        var desired = o.Spec.Replicas;
        var status = new ConsensusClusterStatus
        {
            ObservedGeneration = generation,
            Replicas = sts?.Status?.Replicas ?? 0,
            ReadyReplicas = sts?.Status?.ReadyReplicas ?? 0,
            Selector = names.SelectorString,
            Leader = o.View is { LeaderId: > 0 } v ? names.Pod((int)v.LeaderId - 1) : null,
            Term = o.View?.Term,
            Members = o.View?.Members.OrderBy(m => m.Id).Select(m => new MemberStatus
            {
                Name = names.Pod((int)m.Id - 1),
                Id = m.Id,
                Role = m.Role == MemberRole.Learner ? "Learner" : m.Id == o.View.LeaderId ? "Leader" : "Follower",
                Health = m.Health,
                Weight = m.Weight,
                MatchIndex = m.MatchIndex,
            }).ToList(),
        };

        var conditions = new List<V1Condition>();
        void Set(string type, bool value, string reason, string message) =>
            conditions.Add(Condition(previous, type, value ? "True" : "False", reason, message, generation, now));

        if (o.SpecProblems.Count > 0)
        {
            var message = "The spec was not applied: " + string.Join("; ", o.SpecProblems);
            Set(ConditionTypes.Degraded, true, o.ProblemReason, message);
            Set(ConditionTypes.Ready, false, o.ProblemReason, message);
            Set(ConditionTypes.Progressing, false, o.ProblemReason, o.ProblemReason == "InvalidSpec" ? "Waiting for a valid spec." : "Waiting for a usable TLS Secret.");
            Set(ConditionTypes.Available, o.View is not null, o.View is not null ? "LeaderElected" : "NoLeader", LeaderMessage(status));
            status.Phase = Phases.Degraded;
            status.Conditions = conditions;
            return status;
        }

        var stsReplicas = sts?.Spec?.Replicas ?? 0;
        var settled = sts?.Status is { } s
            && (s.ObservedGeneration ?? 0) >= (sts.Metadata.Generation ?? 0)
            && s.Replicas == stsReplicas
            && (s.UpdatedReplicas ?? s.Replicas) == stsReplicas
            && (s.ReadyReplicas ?? 0) == stsReplicas;
        var voters = o.View?.Members.Count(m => m.Role == MemberRole.Voter) ?? 0;
        var learners = o.View?.Members.Count(m => m.Role == MemberRole.Learner) ?? 0;
        var membershipDone = o.View is not null && voters == desired && learners == 0;
        var scaling = o.Plan?.InProgress == true || stsReplicas != desired || (o.View is not null && !membershipDone);

        Set(ConditionTypes.Available, o.View is not null, o.View is not null ? "LeaderElected" : "NoLeader", LeaderMessage(status));

        if (sts is null)
        {
            Set(ConditionTypes.Progressing, true, "Creating", "Creating the StatefulSet and its objects.");
        }
        else if (scaling)
        {
            var why = o.Plan?.Step switch
            {
                MembershipStep.Wait w => w.Reason,
                MembershipStep.AddLearner a => $"adding {names.Pod((int)a.Id - 1)} as a learner",
                MembershipStep.Promote p => $"promoting {names.Pod((int)p.Id - 1)} to voter",
                MembershipStep.Remove r => $"removing {names.Pod((int)r.Id - 1)} from the configuration",
                MembershipStep.TransferLeadership => "moving leadership off a member that is leaving",
                _ => o.View is null ? "waiting for a leader" : $"{voters} voters, want {desired}",
            };
            Set(ConditionTypes.Progressing, true, "Scaling", $"Scaling to {desired} members: {why}.");
        }
        else if (!settled)
        {
            Set(ConditionTypes.Progressing, true, "RollingOut", $"{sts.Status?.ReadyReplicas ?? 0} of {stsReplicas} pods ready and updated.");
        }
        else
        {
            Set(ConditionTypes.Progressing, false, "Stable", "Every replica runs the current spec.");
        }

        var critical = o.View?.Members.Where(m => m.Health == "critical").Select(m => names.Pod((int)m.Id - 1)).ToList() ?? [];
        if (o.Failure is not null)
        {
            Set(ConditionTypes.Degraded, true, "ReconcileFailed", o.Failure);
        }
        else if (o.View is null && sts is not null && settled && stsReplicas > 0)
        {
            Set(ConditionTypes.Degraded, true, "NoLeader", "All pods are ready but no agent reports a leader; check the agents' logs and their peer connectivity.");
        }
        else if (critical.Count > 0)
        {
            Set(ConditionTypes.Degraded, true, "ApplicationUnhealthy", $"The application is critical on {string.Join(", ", critical)}.");
        }
        else
        {
            Set(ConditionTypes.Degraded, false, "AsExpected", "Nothing needs attention.");
        }

        var ready = o.View is not null && settled && membershipDone && stsReplicas == desired;
        Set(ConditionTypes.Ready, ready, ready ? "Ready" : "NotReady", ready
            ? $"{desired} of {desired} members ready; {status.Leader} leads in term {status.Term}."
            : $"{status.ReadyReplicas} of {desired} pods ready, {voters} voters, {learners} learners{(o.View is null ? ", no leader" : "")}.");

        status.Phase = conditions.Any(c => c.Type == ConditionTypes.Degraded && c.Status == "True") ? Phases.Degraded
            : sts is null ? Phases.Pending
            : ready ? Phases.Running
            : scaling && o.View is not null ? Phases.Scaling
            : Phases.Provisioning;
        status.Conditions = conditions;
        return status;
    }

    private static string LeaderMessage(ConsensusClusterStatus status) =>
        status.Leader is null ? "No agent reports a leader." : $"{status.Leader} leads in term {status.Term}.";

    private static V1Condition Condition(ConsensusClusterStatus? previous, string type, string value, string reason, string message, long generation, DateTime now)
    {
        var old = previous?.Conditions?.FirstOrDefault(c => c.Type == type);
        return new V1Condition
        {
            Type = type,
            Status = value,
            Reason = reason,
            Message = message,
            ObservedGeneration = generation,
            LastTransitionTime = old is not null && old.Status == value ? old.LastTransitionTime : now,
        };
    }
}
