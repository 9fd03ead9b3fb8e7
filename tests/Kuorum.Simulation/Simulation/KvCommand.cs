using System.Text;

namespace Kuorum.Simulation.Simulation;

/// <summary>A write the simulated clients propose: a put or a compare-and-swap, tagged with the operation's id.</summary>
public sealed record KvCommand(long OperationId, bool IsCompareAndSwap, string Key, string Value, string? Expected)
{
    public byte[] Encode()
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(OperationId);
            writer.Write(IsCompareAndSwap);
            writer.Write(Key);
            writer.Write(Value);
            writer.Write(Expected is not null);
            writer.Write(Expected ?? "");
        }

        return stream.ToArray();
    }

    public static KvCommand Decode(ReadOnlyMemory<byte> data)
    {
        using var reader = new BinaryReader(new MemoryStream(data.ToArray()), Encoding.UTF8);
        var id = reader.ReadInt64();
        var cas = reader.ReadBoolean();
        var key = reader.ReadString();
        var value = reader.ReadString();
        var hasExpected = reader.ReadBoolean();
        var expected = reader.ReadString();
        return new KvCommand(id, cas, key, value, hasExpected ? expected : null);
    }
}
