namespace Kuorum.Simulation.Linearizability;

/// <summary>The verdict of <see cref="LinearizabilityChecker.Check"/>.</summary>
/// <param name="IsLinearizable">
/// False only when a violation was proven. A check that ran out of budget reports true with
/// <paramref name="TimedOut"/> set, so callers can count inconclusive checks separately.
/// </param>
/// <param name="TimedOut">True when the budget ran out before every key was decided.</param>
/// <param name="FailingKey">The key whose sub-history is not linearizable, if any.</param>
/// <param name="Explanation">A human-readable account of the verdict.</param>
public sealed record LinearizabilityResult(bool IsLinearizable, bool TimedOut, string? FailingKey, string Explanation);
