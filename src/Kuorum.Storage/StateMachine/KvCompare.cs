namespace Kuorum.Storage.StateMachine;

/// <summary>What a <see cref="KvCompare"/> looks at, as etcd's <c>Compare.target</c>.</summary>
public enum KvCompareTarget : byte
{
    /// <summary>The key's version; 0 when the key does not exist (so <c>Version == 0</c> tests absence).</summary>
    Version = 0,

    /// <summary>The key's create revision; 0 when the key does not exist.</summary>
    CreateRevision = 1,

    /// <summary>The key's mod revision; 0 when the key does not exist.</summary>
    ModRevision = 2,

    /// <summary>The key's value in unsigned byte order; a compare of the value of a missing key is always false (as etcd).</summary>
    Value = 3,

    /// <summary>The lease the key is attached to; 0 when it has none or does not exist.</summary>
    Lease = 4,
}

/// <summary>How a <see cref="KvCompare"/> relates the key's current target to its operand.</summary>
public enum KvCompareOperator : byte
{
    /// <summary>Current equals the operand.</summary>
    Equal = 0,

    /// <summary>Current differs from the operand.</summary>
    NotEqual = 1,

    /// <summary>Current is greater than the operand.</summary>
    Greater = 2,

    /// <summary>Current is less than the operand.</summary>
    Less = 3,
}

/// <summary>
/// One condition of a transaction (see <see cref="KvCommand.Txn"/>): <c>current(Key).Target Operator operand</c>, with
/// <see cref="Number"/> as the operand of the numeric targets and <see cref="Bytes"/> that of <see cref="KvCompareTarget.Value"/>.
/// </summary>
public sealed class KvCompare
{
    private KvCompare(ReadOnlyMemory<byte> key, KvCompareTarget target, KvCompareOperator @operator, long number, ReadOnlyMemory<byte> bytes)
    {
        Key = key;
        Target = target;
        Operator = @operator;
        Number = number;
        Bytes = bytes;
    }

    /// <summary>The key compared, 1 or more bytes.</summary>
    public ReadOnlyMemory<byte> Key { get; }

    /// <summary>What of the key is compared.</summary>
    public KvCompareTarget Target { get; }

    /// <summary>How it is compared.</summary>
    public KvCompareOperator Operator { get; }

    /// <summary>The operand of a numeric target; 0 for <see cref="KvCompareTarget.Value"/>.</summary>
    public long Number { get; }

    /// <summary>The operand of <see cref="KvCompareTarget.Value"/>; empty for the numeric targets.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>Compares the key's version (0 when missing).</summary>
    public static KvCompare Version(ReadOnlyMemory<byte> key, KvCompareOperator @operator, long version) =>
        new(key, KvCompareTarget.Version, @operator, version, ReadOnlyMemory<byte>.Empty);

    /// <summary>Compares the key's create revision (0 when missing).</summary>
    public static KvCompare CreateRevision(ReadOnlyMemory<byte> key, KvCompareOperator @operator, long revision) =>
        new(key, KvCompareTarget.CreateRevision, @operator, revision, ReadOnlyMemory<byte>.Empty);

    /// <summary>Compares the key's mod revision (0 when missing).</summary>
    public static KvCompare ModRevision(ReadOnlyMemory<byte> key, KvCompareOperator @operator, long revision) =>
        new(key, KvCompareTarget.ModRevision, @operator, revision, ReadOnlyMemory<byte>.Empty);

    /// <summary>Compares the key's value in unsigned byte order; false whatever the operator when the key is missing.</summary>
    public static KvCompare Value(ReadOnlyMemory<byte> key, KvCompareOperator @operator, ReadOnlyMemory<byte> value) =>
        new(key, KvCompareTarget.Value, @operator, 0, value);

    /// <summary>Compares the key's lease id (0 when it has none or is missing).</summary>
    public static KvCompare Lease(ReadOnlyMemory<byte> key, KvCompareOperator @operator, long lease) =>
        new(key, KvCompareTarget.Lease, @operator, lease, ReadOnlyMemory<byte>.Empty);

    /// <summary>True when the key exists: version greater than 0.</summary>
    public static KvCompare Exists(ReadOnlyMemory<byte> key) => Version(key, KvCompareOperator.Greater, 0);

    /// <summary>True when the key does not exist: version 0.</summary>
    public static KvCompare Missing(ReadOnlyMemory<byte> key) => Version(key, KvCompareOperator.Equal, 0);

    internal static KvCompare Create(ReadOnlyMemory<byte> key, KvCompareTarget target, KvCompareOperator @operator, long number, ReadOnlyMemory<byte> bytes) =>
        new(key, target, @operator, number, bytes);

    /// <summary>Whether the condition holds for a key whose current state is <paramref name="current"/> (null when missing).</summary>
    internal bool Holds(KvRecord? current)
    {
        int order;
        if (Target == KvCompareTarget.Value)
        {
            if (current is null)
            {
                return false;
            }

            order = current.Value.Span.SequenceCompareTo(Bytes.Span);
        }
        else
        {
            var actual = Target switch
            {
                KvCompareTarget.Version => current?.Version ?? 0,
                KvCompareTarget.CreateRevision => current?.CreateRevision ?? 0,
                KvCompareTarget.ModRevision => current?.ModRevision ?? 0,
                _ => current?.Lease ?? 0,
            };
            order = actual.CompareTo(Number);
        }

        return Operator switch
        {
            KvCompareOperator.Equal => order == 0,
            KvCompareOperator.NotEqual => order != 0,
            KvCompareOperator.Greater => order > 0,
            _ => order < 0,
        };
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Target}({Convert.ToHexString(Key.Span)}) {Operator} {(Target == KvCompareTarget.Value ? $"{Bytes.Length}B" : Number)}";
}
