namespace Kuorum.Storage.StateMachine;

/// <summary>What changed a key.</summary>
public enum KvEventType : byte
{
    /// <summary>A Put: the event's record is the key as it was written.</summary>
    Put = 0,

    /// <summary>
    /// A Delete (by a Delete, a Txn or a LeaseRevoke): as etcd, the record holds the key and the deleting revision as
    /// <see cref="KvRecord.ModRevision"/>, an empty value and 0 for the other revisions.
    /// </summary>
    Delete = 1,
}

/// <summary>One change of the store, as a watch sees it.</summary>
public sealed record KvEvent(KvEventType Type, KvRecord Kv)
{
    /// <summary>The revision that made the change; the events of one revision (a Txn, a LeaseRevoke) share it.</summary>
    public long Revision => Kv.ModRevision;
}

/// <summary>
/// An answer of <see cref="KvStateMachine.EventsSince"/>. When <see cref="Compacted"/>, the asked revision is older than
/// the history and <see cref="Events"/> is empty; the watch may restart from <see cref="OldestRevision"/> - 1 after
/// reading the current state. Otherwise the events follow in revision order, whole revisions only; resume with the last
/// event's revision, or with <see cref="Revision"/> when there is none.
/// </summary>
public sealed record KvEventBatch(bool Compacted, long OldestRevision, long Revision, IReadOnlyList<KvEvent> Events);

/// <summary>A lease as the state machine holds it: the leader tracks its expiry and proposes its revoke.</summary>
public sealed record KvLease(long Id, long TtlMilliseconds, IReadOnlyList<ReadOnlyMemory<byte>> Keys);
