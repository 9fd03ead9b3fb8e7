using System.Text;
using Kuorum.Raft;

namespace Kuorum.Simulation.Simulation;

/// <summary>The small key-value state machine the simulated cluster replicates: registers with put and compare-and-swap.</summary>
public sealed class KvStateMachine
{
    private readonly SortedDictionary<string, string> _values = new(StringComparer.Ordinal);

    public long AppliedIndex { get; private set; }

    public string? Get(string key) => _values.GetValueOrDefault(key);

    /// <summary>Applies a committed entry; returns the command and whether it took effect (false for a failed CAS), or null for non-command entries.</summary>
    public (KvCommand Command, bool Applied)? Apply(Entry entry)
    {
        if (entry.Index != AppliedIndex + 1)
        {
            throw new InvalidOperationException($"apply out of order: entry {entry.Index} after {AppliedIndex}");
        }

        AppliedIndex = entry.Index;
        if (entry.Type != EntryType.Normal || entry.IsNoop)
        {
            return null;
        }

        var command = KvCommand.Decode(entry.Data);
        if (command.IsCompareAndSwap && Get(command.Key) != command.Expected)
        {
            return (command, false);
        }

        _values[command.Key] = command.Value;
        return (command, true);
    }

    public byte[] Snapshot()
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(_values.Count);
            foreach (var (key, value) in _values)
            {
                writer.Write(key);
                writer.Write(value);
            }
        }

        return stream.ToArray();
    }

    public void Restore(long index, ReadOnlyMemory<byte> snapshot)
    {
        _values.Clear();
        AppliedIndex = index;
        if (snapshot.IsEmpty)
        {
            return;
        }

        using var reader = new BinaryReader(new MemoryStream(snapshot.ToArray()), Encoding.UTF8);
        var count = reader.ReadInt32();
        for (var i = 0; i < count; i++)
        {
            var key = reader.ReadString();
            _values[key] = reader.ReadString();
        }
    }

    public string Describe() => string.Join(",", _values.Select(kv => $"{kv.Key}={kv.Value}"));
}
