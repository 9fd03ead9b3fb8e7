namespace Kuorum.Storage.Snapshots;

/// <summary>
/// When to snapshot: after enough entries or bytes since the last snapshot, or, so a quiet cluster still compacts,
/// once the last snapshot is old enough and anything at all was applied since.
/// </summary>
public sealed class SnapshotPolicy
{
    /// <summary>Entries applied since the last snapshot that trigger the next one.</summary>
    public long MaxEntries { get; init; } = 10_000;

    /// <summary>Entry bytes applied since the last snapshot that trigger the next one.</summary>
    public long MaxBytes { get; init; } = 64L << 20;

    /// <summary>Age of the last snapshot after which any applied entry triggers the next one.</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Throws <see cref="ArgumentException"/> naming a setting out of bounds.</summary>
    public void Validate()
    {
        if (MaxEntries < 1)
        {
            throw new ArgumentException($"snapshot setting {nameof(MaxEntries)} must be at least 1; got {MaxEntries}", nameof(MaxEntries));
        }

        if (MaxBytes < 1)
        {
            throw new ArgumentException($"snapshot setting {nameof(MaxBytes)} must be at least 1; got {MaxBytes}", nameof(MaxBytes));
        }

        if (MaxAge <= TimeSpan.Zero)
        {
            throw new ArgumentException($"snapshot setting {nameof(MaxAge)} must be positive; got {MaxAge}", nameof(MaxAge));
        }
    }

    /// <summary>True when a snapshot is due.</summary>
    public bool IsDue(long entriesSince, long bytesSince, TimeSpan age) =>
        entriesSince >= MaxEntries || bytesSince >= MaxBytes || (entriesSince > 0 && age >= MaxAge);
}
