namespace Kuorum.Client;

/// <summary>
/// Chooses which member's application serves the next request, following the cluster's endpoint table. Every
/// member is thread-safe; <see cref="Pick"/> allocates nothing.
/// </summary>
/// <remarks>
/// Only members with an <see cref="EndpointInfo.AppAddress"/> are picked. Members with weight 0 are skipped while
/// any member has weight &gt; 0; when every member has weight 0 (panic), all are picked as if their weights were
/// equal, so a table that ejected everything still serves. <see cref="EndpointStrategies.LeaderOnly"/> ignores
/// weights and picks the leader.
/// </remarks>
public interface IEndpointPicker
{
    /// <summary>The strategy this picker applies (see <see cref="EndpointStrategies"/>).</summary>
    string Strategy { get; }

    /// <summary>The table in use; null before the first.</summary>
    EndpointSnapshot? Snapshot { get; }

    /// <summary>The endpoint for the next request, or null when the table has none to offer (no table yet, no
    /// member with an app address, or no leader for <see cref="EndpointStrategies.LeaderOnly"/>).</summary>
    /// <returns>The chosen endpoint; dial its <see cref="EndpointInfo.AppAddress"/>.</returns>
    EndpointInfo? Pick();

    /// <summary>
    /// Picks like <see cref="Pick"/> and counts the request as in flight on that endpoint until the returned lease is
    /// disposed. <see cref="EndpointStrategies.LeastRequest"/> compares these counts; use this with it.
    /// </summary>
    /// <returns>The lease (dispose it when the request completes), or null when there is nothing to pick.</returns>
    EndpointLease? StartRequest();
}
