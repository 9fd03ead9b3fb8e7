namespace Kuorum.Storage.StateMachine;

/// <summary>Why an applied command changed nothing, as etcd's errors of the same names.</summary>
public enum KvApplyError : byte
{
    /// <summary>No error.</summary>
    None = 0,

    /// <summary>A Put (alone or in the chosen branch of a Txn) names a lease that does not exist, or a LeaseRevoke does.</summary>
    LeaseNotFound = 1,

    /// <summary>A LeaseGrant names a lease that already exists.</summary>
    LeaseExists = 2,
}

/// <summary>
/// What <see cref="KvStateMachine.Apply"/> did with an entry.
/// <para>
/// A refused command (<see cref="Error"/> not <see cref="KvApplyError.None"/>) changed nothing, not even partly: a Txn
/// whose chosen branch puts a key with an unknown lease runs none of its operations, as etcd answers such a request
/// with ErrLeaseNotFound. The entry still counts as applied (its index becomes <see cref="KvStateMachine.AppliedIndex"/>),
/// since every replica refuses it alike.
/// </para>
/// </summary>
public sealed class ApplyResult
{
    private static readonly IReadOnlyList<KvOpResult> _none = [];

    internal ApplyResult(long index, bool applied, long revision, KvCommand? command = null, bool succeeded = true, KvApplyError error = KvApplyError.None, IReadOnlyList<KvOpResult>? results = null)
    {
        Index = index;
        Applied = applied;
        Revision = revision;
        Command = command;
        Succeeded = succeeded;
        Error = error;
        Results = results ?? _none;
    }

    /// <summary>The entry's index.</summary>
    public long Index { get; }

    /// <summary>False when the entry was at or below the applied index and was ignored (a replay after recovery).</summary>
    public bool Applied { get; }

    /// <summary>The store's revision after the entry (a command that wrote something raised it by exactly one).</summary>
    public long Revision { get; }

    /// <summary>The command a Normal entry carried; null for no-ops, ConfChange and Bootstrap entries and ignored entries.</summary>
    public KvCommand? Command { get; }

    /// <summary>
    /// For a Txn, etcd's <c>succeeded</c>: true when every compare held and the success branch was chosen, false for the
    /// failure branch. True for every other command.
    /// </summary>
    public bool Succeeded { get; }

    /// <summary>Why the command was refused, changing nothing; <see cref="KvApplyError.None"/> when it ran.</summary>
    public KvApplyError Error { get; }

    /// <summary>
    /// One result per operation run, in order: the chosen Txn branch's operations, the single operation of a Put or
    /// Delete, or for a LeaseRevoke one Delete result counting the keys it deleted. Empty otherwise, and when refused.
    /// </summary>
    public IReadOnlyList<KvOpResult> Results { get; }

    /// <inheritdoc />
    public override string ToString() =>
        $"entry {Index}: {(Applied ? $"{Command?.ToString() ?? "no command"} -> revision {Revision}{(Succeeded ? "" : ", failure branch")}{(Error == KvApplyError.None ? "" : $", {Error}")}" : "ignored")}";
}
