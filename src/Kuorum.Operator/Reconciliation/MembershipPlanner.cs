using Kuorum.Operator.Admin;

namespace Kuorum.Operator.Reconciliation;

/// <summary>The next membership change, at most one at a time.</summary>
internal abstract record MembershipStep
{
    public sealed record None : MembershipStep;

    /// <summary>Add the pod with this ordinal as a learner.</summary>
    public sealed record AddLearner(long Id) : MembershipStep;

    /// <summary>Promote a caught-up learner to voter.</summary>
    public sealed record Promote(long Id) : MembershipStep;

    /// <summary>Remove a member from the configuration.</summary>
    public sealed record Remove(long Id) : MembershipStep;

    /// <summary>The leader is about to be removed: hand leadership to another voter first.</summary>
    public sealed record TransferLeadership(long From) : MembershipStep;

    /// <summary>Nothing can be done now; look again soon.</summary>
    public sealed record Wait(string Reason) : MembershipStep;
}

/// <summary>The leader's view of the cluster, which the plan is made from.</summary>
internal sealed record MembershipView(long LeaderId, long Term, long CommitIndex, IReadOnlyList<AgentMember> Members);

/// <summary>How many pods the StatefulSet should have, and the next membership step.</summary>
internal sealed record MembershipPlan(int StatefulSetReplicas, MembershipStep Step)
{
    public bool InProgress => Step is not MembershipStep.None;
}

/// <summary>
/// Scaling as Raft membership changes, one at a time. Scale up: the StatefulSet grows at once (new pods start as
/// joining members); each new pod, lowest ordinal first, is added as a learner once running and promoted once caught
/// up. Scale down: the highest member leaves the configuration first (after handing leadership away if it leads), and
/// the StatefulSet shrinks only below members that have left, so a pod never goes while it still counts in a quorum.
/// </summary>
internal static class MembershipPlanner
{
    public static MembershipPlan Plan(int desired, int? currentReplicas, MembershipView? view, Func<int, bool> podRunning, long promotionLag)
    {
        if (view is null)
        {
            // No leader to ask: growing is safe (new pods wait to be added), shrinking is not.
            if (currentReplicas is null)
            {
                return new MembershipPlan(desired, new MembershipStep.None());
            }

            var keep = Math.Max(currentReplicas.Value, desired);
            return new MembershipPlan(
                keep,
                keep != desired ? new MembershipStep.Wait($"waiting for a leader before removing members (have {currentReplicas}, want {desired})") : new MembershipStep.None());
        }

        var members = view.Members.ToDictionary(m => m.Id);
        var highestMember = members.Count == 0 ? 0 : (int)members.Keys.Max();
        var replicas = Math.Max(desired, highestMember);

        var learner = members.Values.Where(m => m.Role == MemberRole.Learner && m.Id <= desired).OrderBy(m => m.Id).FirstOrDefault();
        if (learner is not null)
        {
            return new MembershipPlan(replicas, learner.MatchIndex + promotionLag >= view.CommitIndex
                ? new MembershipStep.Promote(learner.Id)
                : new MembershipStep.Wait($"learner {learner.Id} is catching up (match {learner.MatchIndex} of {view.CommitIndex})"));
        }

        var leaving = members.Keys.Where(id => id > desired).OrderByDescending(id => id).FirstOrDefault();
        if (leaving != 0)
        {
            return new MembershipPlan(replicas, leaving == view.LeaderId
                ? new MembershipStep.TransferLeadership(leaving)
                : new MembershipStep.Remove(leaving));
        }

        for (var id = 1L; id <= desired; id++)
        {
            if (!members.ContainsKey(id))
            {
                return new MembershipPlan(replicas, podRunning((int)id - 1)
                    ? new MembershipStep.AddLearner(id)
                    : new MembershipStep.Wait($"waiting for pod ordinal {id - 1} to run before adding it"));
            }
        }

        return new MembershipPlan(replicas, new MembershipStep.None());
    }
}
