using System.Diagnostics;
using Kuorum.Simulation.Simulation;

// make sim SEEDS=n [START=s] [BUG=...]   runs n schedules and ends with the summary line.
// make sim SEED=s [BUG=...]             replays one schedule and prints its whole trace.
var arguments = ParseArguments(args);
if (arguments is null)
{
    Console.Error.WriteLine("usage: Kuorum.Simulation [--seeds N] [--start S] [--seed S] [--bug None|CommitEarlierTermsByCounting|VoteNotPersisted|ReadsWithoutQuorum|CountUnpersistedOwnEntries] [--messages]");
    return 2;
}

var (seeds, start, single, bug, messages) = arguments.Value;
if (single is { } seed)
{
    var result = new Simulator(SimulationOptions.ForSeed(seed, bug), traceMessages: messages).Run();
    Console.WriteLine(result.Describe(int.MaxValue));
    Console.WriteLine($"completed operations: {result.CompletedOperations}, elections: {result.Elections}");
    Console.WriteLine(new SimulationSummary(1,
        result.Outcome == ScheduleOutcome.SafetyViolation ? 1 : 0,
        result.Outcome == ScheduleOutcome.LinearizabilityViolation ? 1 : 0,
        result.Outcome == ScheduleOutcome.LivenessFailure ? 1 : 0, 0, 0, 0, []).SummaryLine);
    return result.Passed ? 0 : 1;
}

var clock = Stopwatch.StartNew();
var summary = SimulationRunner.Run(start, seeds, bug);
foreach (var failure in summary.Failures)
{
    Console.WriteLine(failure.Describe(60));
    Console.WriteLine();
}

Console.WriteLine($"{summary.CompletedOperations} client operations completed, {summary.Elections} leaders elected, " +
    $"{summary.LivenessFailures} liveness failures, {summary.CheckerTimeouts} checker timeouts, " +
    $"{clock.Elapsed.TotalSeconds:F1} s ({summary.Schedules / clock.Elapsed.TotalSeconds:F0} schedules/s)");
Console.WriteLine(summary.SummaryLine);
return summary.Failures.Count == 0 ? 0 : 1;

static (int Seeds, ulong Start, ulong? Single, InjectedBug Bug, bool Messages)? ParseArguments(string[] args)
{
    var seeds = 1000;
    ulong start = 1;
    ulong? single = null;
    var bug = InjectedBug.None;
    var messages = false;
    for (var i = 0; i < args.Length; i++)
    {
        var value = i + 1 < args.Length ? args[i + 1] : null;
        switch (args[i])
        {
            case "--seeds" when int.TryParse(value, out var n) && n > 0:
                seeds = n;
                i++;
                break;
            case "--start" when ulong.TryParse(value, out var s):
                start = s;
                i++;
                break;
            case "--seed" when ulong.TryParse(value, out var s):
                single = s;
                i++;
                break;
            case "--bug" when Enum.TryParse<InjectedBug>(value, ignoreCase: true, out var b):
                bug = b;
                i++;
                break;
            case "--messages":
                messages = true;
                break;
            default:
                Console.Error.WriteLine($"bad argument '{args[i]}{(value is null ? "" : " " + value)}'");
                return null;
        }
    }

    return (seeds, start, single, bug, messages);
}
