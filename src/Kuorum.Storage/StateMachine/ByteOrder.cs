namespace Kuorum.Storage.StateMachine;

/// <summary>Orders keys by their bytes, unsigned, shorter first on a common prefix (etcd's order).</summary>
internal sealed class ByteOrder : IComparer<byte[]>
{
    public static ByteOrder Instance { get; } = new();

    public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
}
