using Kuorum.Operator.Admin;
using Kuorum.Operator.Reconciliation;

namespace Kuorum.Operator.Tests.Reconciliation;

public sealed class MembershipPlannerTests
{
    private static MembershipView View(long leader, long commit, params (long Id, MemberRole Role, long Match)[] members) =>
        new(leader, 1, commit, members.Select(m => new AgentMember(m.Id, "", m.Role, "passing", 1, m.Match)).ToList());

    [Fact]
    public void Plan_NewCluster_CreatesAllReplicasAndWaitsForNothing()
    {
        var plan = MembershipPlanner.Plan(3, null, null, _ => false, 16);
        Assert.Equal(3, plan.StatefulSetReplicas);
        Assert.IsType<MembershipStep.None>(plan.Step);
    }

    [Fact]
    public void Plan_NoLeaderAndFewerWanted_KeepsPodsAndWaits()
    {
        var plan = MembershipPlanner.Plan(3, 5, null, _ => true, 16);
        Assert.Equal(5, plan.StatefulSetReplicas);
        Assert.IsType<MembershipStep.Wait>(plan.Step);
    }

    [Fact]
    public void Plan_ScaleUpWithRunningPod_AddsLowestMissingAsLearner()
    {
        var plan = MembershipPlanner.Plan(5, 3, View(1, 10, (1, MemberRole.Voter, 10), (2, MemberRole.Voter, 10), (3, MemberRole.Voter, 10)), _ => true, 16);
        Assert.Equal(5, plan.StatefulSetReplicas);
        Assert.Equal(new MembershipStep.AddLearner(4), plan.Step);
    }

    [Fact]
    public void Plan_ScaleUpWithPodNotRunning_Waits()
    {
        var plan = MembershipPlanner.Plan(4, 4, View(1, 10, (1, MemberRole.Voter, 10), (2, MemberRole.Voter, 10), (3, MemberRole.Voter, 10)), o => o < 3, 16);
        Assert.IsType<MembershipStep.Wait>(plan.Step);
    }

    [Fact]
    public void Plan_LearnerCaughtUp_IsPromoted_LaggingLearnerWaits()
    {
        var caughtUp = View(1, 100, (1, MemberRole.Voter, 100), (2, MemberRole.Voter, 100), (3, MemberRole.Voter, 100), (4, MemberRole.Learner, 90));
        Assert.Equal(new MembershipStep.Promote(4), MembershipPlanner.Plan(5, 5, caughtUp, _ => true, 16).Step);
        var lagging = View(1, 100, (1, MemberRole.Voter, 100), (2, MemberRole.Voter, 100), (3, MemberRole.Voter, 100), (4, MemberRole.Learner, 10));
        Assert.IsType<MembershipStep.Wait>(MembershipPlanner.Plan(5, 5, lagging, _ => true, 16).Step);
    }

    [Fact]
    public void Plan_ScaleDown_RemovesHighestFirst_AndKeepsItsPod()
    {
        var view = View(1, 10, (1, MemberRole.Voter, 10), (2, MemberRole.Voter, 10), (3, MemberRole.Voter, 10), (4, MemberRole.Voter, 10), (5, MemberRole.Voter, 10));
        var plan = MembershipPlanner.Plan(3, 5, view, _ => true, 16);
        Assert.Equal(new MembershipStep.Remove(5), plan.Step);
        Assert.Equal(5, plan.StatefulSetReplicas);
    }

    [Fact]
    public void Plan_ScaleDownOfTheLeader_TransfersLeadershipFirst()
    {
        var view = View(5, 10, (1, MemberRole.Voter, 10), (2, MemberRole.Voter, 10), (3, MemberRole.Voter, 10), (4, MemberRole.Voter, 10), (5, MemberRole.Voter, 10));
        Assert.Equal(new MembershipStep.TransferLeadership(5), MembershipPlanner.Plan(3, 5, view, _ => true, 16).Step);
    }

    [Fact]
    public void Plan_AfterRemovals_ShrinksTheStatefulSet()
    {
        var view = View(1, 10, (1, MemberRole.Voter, 10), (2, MemberRole.Voter, 10), (3, MemberRole.Voter, 10));
        var plan = MembershipPlanner.Plan(3, 5, view, _ => true, 16);
        Assert.Equal(3, plan.StatefulSetReplicas);
        Assert.False(plan.InProgress);
    }
}
