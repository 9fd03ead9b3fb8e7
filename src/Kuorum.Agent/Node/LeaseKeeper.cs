using Kuorum.Storage.StateMachine;

namespace Kuorum.Agent.Node;

/// <summary>
/// The leader's lease clocks. Leases are granted and revoked through the log; when they expire is the leader's call
/// alone, by its own clock: each keep-alive pushes a lease's deadline to now + TTL, and a lease past its deadline is
/// revoked by a proposal. A new leader starts every lease's countdown afresh (<see cref="Reset"/>), so a lease
/// outlives a failover by at most one TTL. Owned by the Raft loop.
/// </summary>
public sealed class LeaseKeeper(TimeProvider time)
{
    private readonly Dictionary<long, (long Deadline, long TtlMs)> _deadlines = [];
    private readonly HashSet<long> _revoking = [];

    /// <summary>Starts the countdown of every lease in the store (on becoming leader).</summary>
    public void Reset(IReadOnlyList<KvLease> leases)
    {
        _deadlines.Clear();
        _revoking.Clear();
        foreach (var lease in leases)
        {
            Track(lease.Id, lease.TtlMilliseconds);
        }
    }

    /// <summary>Forgets every clock (on losing leadership).</summary>
    public void Clear()
    {
        _deadlines.Clear();
        _revoking.Clear();
    }

    /// <summary>Starts or restarts one lease's countdown.</summary>
    public void Track(long id, long ttlMs) => _deadlines[id] = (Deadline(ttlMs), ttlMs);

    /// <summary>Renews a lease the store holds; returns its TTL in milliseconds, or 0 when the store has no such lease.</summary>
    public long KeepAlive(long id, KvStateMachine machine)
    {
        if (machine.GetLease(id) is not { } lease || _revoking.Contains(id))
        {
            return 0;
        }

        Track(id, lease.TtlMilliseconds);
        return lease.TtlMilliseconds;
    }

    /// <summary>Milliseconds left on a lease by this leader's clock, or -1 when it is not tracked.</summary>
    public long Remaining(long id) =>
        _deadlines.TryGetValue(id, out var d) ? Math.Max(0, (long)TimeSpan.FromTicks((d.Deadline - time.GetTimestamp()) * TimeSpan.TicksPerSecond / time.TimestampFrequency).TotalMilliseconds) : -1;

    /// <summary>Leases past their deadline that the store still holds; each is returned once (then it is being revoked).</summary>
    public IEnumerable<long> Expired(KvStateMachine machine)
    {
        if (_deadlines.Count == 0)
        {
            yield break;
        }

        var now = time.GetTimestamp();
        foreach (var (id, (deadline, _)) in _deadlines.ToList())
        {
            if (machine.GetLease(id) is null)
            {
                _deadlines.Remove(id);
                _revoking.Remove(id);
            }
            else if (deadline <= now && _revoking.Add(id))
            {
                yield return id;
            }
        }
    }

    /// <summary>A revoke could not be proposed (a transfer is under way, say): try again at the next tick.</summary>
    public void RetryLater(long id) => _revoking.Remove(id);

    private long Deadline(long ttlMs) => time.GetTimestamp() + (ttlMs * time.TimestampFrequency / 1000);
}
