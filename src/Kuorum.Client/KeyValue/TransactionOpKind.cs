namespace Kuorum.Client;

/// <summary>The kind of an operation inside a transaction.</summary>
public enum TransactionOpKind
{
    /// <summary>A read of one key.</summary>
    Get = 0,

    /// <summary>A write of one key.</summary>
    Put = 1,

    /// <summary>A deletion of one key.</summary>
    Delete = 2,
}
