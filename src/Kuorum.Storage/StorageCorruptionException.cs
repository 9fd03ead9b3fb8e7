namespace Kuorum.Storage;

/// <summary>
/// Durable data failed a check: the store refuses to open rather than return wrong data. The message names the
/// file, the offset and what was expected there.
/// </summary>
public sealed class StorageCorruptionException(string file, long offset, string expected, Exception? inner = null)
    : Exception($"corrupt storage: {file} at offset {offset}: expected {expected}", inner)
{
    /// <summary>The file that failed the check.</summary>
    public string File { get; } = file;

    /// <summary>Byte offset within <see cref="File"/>.</summary>
    public long Offset { get; } = offset;
}
