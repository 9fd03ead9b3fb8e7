namespace Kuorum.Client;

/// <summary>The outcome of a compare-and-swap (or compare-and-delete).</summary>
public sealed class CompareAndSwapResult
{
    internal CompareAndSwapResult(bool succeeded, long revision, KeyValueEntry? current)
    {
        Succeeded = succeeded;
        Revision = revision;
        Current = current;
    }

    /// <summary>True when the key was at the expected revision and the write was applied.</summary>
    public bool Succeeded { get; }

    /// <summary>
    /// The store's revision after the transaction: on success, the new mod revision of the key (the expected
    /// revision for the next swap).
    /// </summary>
    public long Revision { get; }

    /// <summary>
    /// On failure, the key as it is now (null when it does not exist), to retry against; null on success.
    /// </summary>
    public KeyValueEntry? Current { get; }
}
