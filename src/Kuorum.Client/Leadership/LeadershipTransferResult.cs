namespace Kuorum.Client;

/// <summary>The outcome of a resignation or a leadership transfer.</summary>
/// <param name="LeaderId">The member that leads now; 0 when none took over in time (the old leader then stays).</param>
/// <param name="Term">The term of that leadership.</param>
public sealed record LeadershipTransferResult(long LeaderId, long Term);
