namespace Kuorum.Storage.StateMachine;

/// <summary>
/// Size limits of the key-value state machine. They are checked when a <see cref="KvCommand"/> is built, that is when
/// a client's request becomes a proposal; a committed entry is applied as it is, so lowering a limit later can never
/// make an already committed log impossible to apply.
/// </summary>
public sealed class KvLimits
{
    /// <summary>Default <see cref="MaxKeyBytes"/>: 4 KiB.</summary>
    public const int DefaultMaxKeyBytes = 4096;

    /// <summary>Default <see cref="MaxValueBytes"/>: 1 MiB.</summary>
    public const int DefaultMaxValueBytes = 1 << 20;

    /// <summary>Default <see cref="MaxTxnOps"/>: 128, as etcd.</summary>
    public const int DefaultMaxTxnOps = 128;

    /// <summary>Default <see cref="MaxTxnBytes"/>: 1.5 MiB, so a transaction fits etcd's default 1.5 MiB request size.</summary>
    public const int DefaultMaxTxnBytes = 3 << 19;

    /// <summary>The limits used when none are given.</summary>
    public static KvLimits Default { get; } = new();

    /// <summary>Largest key, in bytes; a key has at least one byte.</summary>
    public int MaxKeyBytes { get; init; } = DefaultMaxKeyBytes;

    /// <summary>Largest value, in bytes; an empty value is allowed.</summary>
    public int MaxValueBytes { get; init; } = DefaultMaxValueBytes;

    /// <summary>Most compares, and most operations in each branch, of a transaction (etcd checks each list alike).</summary>
    public int MaxTxnOps { get; init; } = DefaultMaxTxnOps;

    /// <summary>
    /// Most bytes of keys and values a transaction carries in all: the keys and compared values of its compares and the
    /// keys and values of the operations of both branches.
    /// </summary>
    public int MaxTxnBytes { get; init; } = DefaultMaxTxnBytes;

    /// <summary>Throws <see cref="ArgumentException"/> naming a limit out of bounds.</summary>
    public void Validate()
    {
        if (MaxKeyBytes is < 1 or > 1 << 20)
        {
            throw new ArgumentException($"{nameof(KvLimits)}.{nameof(MaxKeyBytes)} must be in 1..{1 << 20}; got {MaxKeyBytes}", nameof(MaxKeyBytes));
        }

        if (MaxValueBytes is < 0 or > 1 << 28)
        {
            throw new ArgumentException($"{nameof(KvLimits)}.{nameof(MaxValueBytes)} must be in 0..{1 << 28}; got {MaxValueBytes}", nameof(MaxValueBytes));
        }

        if (MaxTxnOps is < 1 or > 1 << 16)
        {
            throw new ArgumentException($"{nameof(KvLimits)}.{nameof(MaxTxnOps)} must be in 1..{1 << 16}; got {MaxTxnOps}", nameof(MaxTxnOps));
        }

        if (MaxTxnBytes is < 1 or > 1 << 30)
        {
            throw new ArgumentException($"{nameof(KvLimits)}.{nameof(MaxTxnBytes)} must be in 1..{1 << 30}; got {MaxTxnBytes}", nameof(MaxTxnBytes));
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the limit when <paramref name="key"/> breaks it.</summary>
    public void CheckKey(ReadOnlySpan<byte> key)
    {
        if (key.IsEmpty)
        {
            throw new ArgumentException($"key is empty; keys are 1..{MaxKeyBytes} bytes ({nameof(KvLimits)}.{nameof(MaxKeyBytes)})", nameof(key));
        }

        if (key.Length > MaxKeyBytes)
        {
            throw new ArgumentException($"key is {key.Length} bytes; the limit is {MaxKeyBytes} ({nameof(KvLimits)}.{nameof(MaxKeyBytes)})", nameof(key));
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the limit when <paramref name="value"/> breaks it.</summary>
    public void CheckValue(ReadOnlySpan<byte> value)
    {
        if (value.Length > MaxValueBytes)
        {
            throw new ArgumentException($"value is {value.Length} bytes; the limit is {MaxValueBytes} ({nameof(KvLimits)}.{nameof(MaxValueBytes)})", nameof(value));
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the limit when a transaction's list of <paramref name="what"/> is too long.</summary>
    public void CheckTxnOps(int count, string what)
    {
        if (count > MaxTxnOps)
        {
            throw new ArgumentException($"txn has {count} {what}; the limit is {MaxTxnOps} ({nameof(KvLimits)}.{nameof(MaxTxnOps)})", what);
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the limit when a transaction carries more than <see cref="MaxTxnBytes"/>.</summary>
    public void CheckTxnBytes(long bytes)
    {
        if (bytes > MaxTxnBytes)
        {
            throw new ArgumentException(
                $"txn carries {bytes} bytes of keys and values; the limit is {MaxTxnBytes} ({nameof(KvLimits)}.{nameof(MaxTxnBytes)})", nameof(bytes));
        }
    }
}
