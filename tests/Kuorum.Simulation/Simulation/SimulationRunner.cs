namespace Kuorum.Simulation.Simulation;

/// <summary>Totals over many schedules.</summary>
public sealed record SimulationSummary(
    int Schedules,
    int SafetyViolations,
    int LinearizabilityViolations,
    int LivenessFailures,
    int CheckerTimeouts,
    long CompletedOperations,
    long Elections,
    IReadOnlyList<ScheduleResult> Failures)
{
    /// <summary>The line `make sim` ends with.</summary>
    public string SummaryLine =>
        $"simulation: {Schedules} schedules, {SafetyViolations} safety violations, {LinearizabilityViolations} linearizability violations";
}

/// <summary>Runs schedules for consecutive seeds on every core; each schedule is deterministic on its own.</summary>
public static class SimulationRunner
{
    public static SimulationSummary Run(ulong firstSeed, int count, InjectedBug bug = InjectedBug.None, int maxFailuresKept = 5, bool stopAtFirstFailure = false)
    {
        var results = new ScheduleResult?[count];
        using var stop = new CancellationTokenSource();
        try
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = stop.Token }, i =>
            {
                var result = new Simulator(SimulationOptions.ForSeed(firstSeed + (ulong)i, bug)).Run();
                results[i] = result;
                if (!result.Passed && stopAtFirstFailure)
                {
                    stop.Cancel();
                }
            });
        }
        catch (OperationCanceledException)
        {
        }

        var done = results.Where(r => r is not null).Select(r => r!).ToList();
        var failures = done.Where(r => !r.Passed).ToList();
        return new SimulationSummary(
            done.Count,
            failures.Count(f => f.Outcome == ScheduleOutcome.SafetyViolation),
            failures.Count(f => f.Outcome == ScheduleOutcome.LinearizabilityViolation),
            failures.Count(f => f.Outcome == ScheduleOutcome.LivenessFailure),
            done.Count(r => r.LinearizabilityTimedOut),
            done.Sum(r => (long)r.CompletedOperations),
            done.Sum(r => (long)r.Elections),
            failures.OrderBy(f => f.Seed).Take(maxFailuresKept).ToList());
    }
}
