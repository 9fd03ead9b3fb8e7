namespace Kuorum.Client;

/// <summary>The result of one operation of the branch a transaction ran.</summary>
public sealed class TransactionOpResult
{
    internal TransactionOpResult(TransactionOpKind kind, KeyValueEntry? entry, long deleted)
    {
        Kind = kind;
        Entry = entry;
        Deleted = deleted;
    }

    /// <summary>Get, put or delete.</summary>
    public TransactionOpKind Kind { get; }

    /// <summary>For a get: the key as read, null when it does not exist. Null for other kinds.</summary>
    public KeyValueEntry? Entry { get; }

    /// <summary>For a delete: how many keys were deleted (0 or 1). 0 for other kinds.</summary>
    public long Deleted { get; }
}
