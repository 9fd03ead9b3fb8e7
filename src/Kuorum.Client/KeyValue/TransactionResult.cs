namespace Kuorum.Client;

/// <summary>The outcome of a <see cref="KuorumTransaction"/>.</summary>
public sealed class TransactionResult
{
    internal TransactionResult(bool succeeded, long revision, IReadOnlyList<TransactionOpResult> results)
    {
        Succeeded = succeeded;
        Revision = revision;
        Results = results;
    }

    /// <summary>True when every comparison held and the "then" branch ran; false when the "else" branch ran.</summary>
    public bool Succeeded { get; }

    /// <summary>The store's revision after the transaction (the mod revision of every key it wrote).</summary>
    public long Revision { get; }

    /// <summary>One result per operation of the branch that ran, in order.</summary>
    public IReadOnlyList<TransactionOpResult> Results { get; }
}
