namespace Kuorum.Simulation.Simulation;

/// <summary>How a schedule ended.</summary>
public enum ScheduleOutcome
{
    Passed,
    SafetyViolation,
    LinearizabilityViolation,
    LivenessFailure,
}

/// <summary>The result of one seeded schedule, with the trace needed to understand a failure.</summary>
public sealed record ScheduleResult(
    ulong Seed,
    SimulationOptions Options,
    ScheduleOutcome Outcome,
    string Message,
    IReadOnlyList<string> Trace,
    int CompletedOperations,
    int Elections,
    bool LinearizabilityTimedOut)
{
    public bool Passed => Outcome == ScheduleOutcome.Passed;

    public string Describe(int traceLines = 200)
    {
        var lines = new List<string>
        {
            $"seed {Seed}: {Outcome}: {Message}",
            $"  options: {Options}",
            $"  replay: make sim SEED={Seed}{(Options.Bug == InjectedBug.None ? "" : $" BUG={Options.Bug}")}",
            $"  last {Math.Min(traceLines, Trace.Count)} of {Trace.Count} trace lines:",
        };
        lines.AddRange(Trace.Skip(Math.Max(0, Trace.Count - traceLines)).Select(l => "    " + l));
        return string.Join(Environment.NewLine, lines);
    }
}
