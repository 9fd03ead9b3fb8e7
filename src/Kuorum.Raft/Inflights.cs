namespace Kuorum.Raft;

/// <summary>The Append messages sent to one follower and not yet acknowledged, bounded by count and bytes.</summary>
internal sealed class Inflights(int maxMessages, long maxBytes)
{
    private readonly Queue<(long LastIndex, long Bytes)> _sent = new();

    public long Bytes { get; private set; }

    public bool IsFull => _sent.Count >= maxMessages || Bytes >= maxBytes;

    public void Add(long lastIndex, long bytes)
    {
        _sent.Enqueue((lastIndex, bytes));
        Bytes += bytes;
    }

    /// <summary>Releases every message whose last index is at or below <paramref name="index"/>.</summary>
    public void FreeTo(long index)
    {
        while (_sent.TryPeek(out var head) && head.LastIndex <= index)
        {
            _sent.Dequeue();
            Bytes -= head.Bytes;
        }
    }

    /// <summary>Releases the oldest message, so a heartbeat response can unblock a stalled pipeline.</summary>
    public void FreeFirst()
    {
        if (_sent.TryDequeue(out var head))
        {
            Bytes -= head.Bytes;
        }
    }

    public void Reset()
    {
        _sent.Clear();
        Bytes = 0;
    }
}
