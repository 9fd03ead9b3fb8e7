using Kuorum.Simulation.Simulation;

namespace Kuorum.Simulation.Tests.Simulation;

public sealed class SimulationTests
{
    // The default budget: at least 2,000 schedules in `make test`; KUORUM_SIM_SEEDS raises it.
    private static readonly int _budget =
        int.TryParse(Environment.GetEnvironmentVariable("KUORUM_SIM_SEEDS"), out var seeds) && seeds > 0 ? seeds : 2000;

    private const int Slices = 4;

    public static TheoryData<int> SliceNumbers() => [.. Enumerable.Range(0, Slices)];

    [Theory]
    [MemberData(nameof(SliceNumbers))]
    public void Schedules_DefaultBudget_NoSafetyLinearizabilityOrLivenessFailure(int slice)
    {
        var perSlice = (_budget + Slices - 1) / Slices;
        var summary = SimulationRunner.Run(1 + (ulong)(slice * perSlice), perSlice);

        Assert.Equal(perSlice, summary.Schedules);
        Assert.True(summary.Failures.Count == 0,
            string.Join(Environment.NewLine + Environment.NewLine, summary.Failures.Select(f => f.Describe(80))));
        Assert.Equal(0, summary.CheckerTimeouts);
        // The schedules must do real work, not pass by doing nothing.
        Assert.True(summary.CompletedOperations > perSlice * 50L, $"only {summary.CompletedOperations} operations completed");
        Assert.True(summary.Elections >= perSlice, $"only {summary.Elections} leaders elected");
    }

    [Fact]
    public void Schedule_SameSeed_ReplaysExactly()
    {
        var first = new Simulator(SimulationOptions.ForSeed(4242)).Run();
        var second = new Simulator(SimulationOptions.ForSeed(4242)).Run();

        Assert.True(first.Passed, first.Describe());
        Assert.Equal(first.Trace, second.Trace);
        Assert.Equal(first.CompletedOperations, second.CompletedOperations);
    }

    [Fact]
    public void Schedule_DifferentSeeds_ExploreDifferentRuns()
    {
        var a = new Simulator(SimulationOptions.ForSeed(1)).Run();
        var b = new Simulator(SimulationOptions.ForSeed(2)).Run();

        Assert.NotEqual(a.Trace, b.Trace);
    }

    [Theory]
    [InlineData(InjectedBug.VoteNotPersisted, ScheduleOutcome.SafetyViolation)]
    [InlineData(InjectedBug.ReadsWithoutQuorum, ScheduleOutcome.LinearizabilityViolation)]
    [InlineData(InjectedBug.CountUnpersistedOwnEntries, ScheduleOutcome.SafetyViolation)]
    public void Schedules_BrokenRuleInjected_CaughtWithinDefaultBudget(InjectedBug bug, ScheduleOutcome expected)
    {
        var summary = SimulationRunner.Run(1, _budget, bug, stopAtFirstFailure: true);

        var failure = Assert.Single(summary.Failures.Take(1));
        Assert.Equal(expected, failure.Outcome);
        Assert.Contains($"make sim SEED={failure.Seed}", failure.Describe());
        // The failing seed replays to the same failure on its own.
        var replay = new Simulator(SimulationOptions.ForSeed(failure.Seed, bug)).Run();
        Assert.Equal(failure.Outcome, replay.Outcome);
        Assert.Equal(failure.Message, replay.Message);
    }
}
