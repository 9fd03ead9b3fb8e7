using System.Buffers.Binary;

namespace Kuorum.Raft;

/// <summary>The single-member changes Kuorum allows; voters change one at a time.</summary>
public enum ConfChangeType : byte
{
    /// <summary>Add a non-voting member that receives the log but never campaigns or counts in a quorum.</summary>
    AddLearner = 1,

    /// <summary>Turn a caught-up learner into a voter.</summary>
    PromoteLearner = 2,

    /// <summary>Remove a learner or a voter (the leader included).</summary>
    RemoveMember = 3,
}

/// <summary>A membership change, carried in a <see cref="EntryType.ConfChange"/> entry.</summary>
public readonly record struct ConfChange(ConfChangeType Type, long NodeId)
{
    /// <summary>Encoded size in bytes.</summary>
    public const int EncodedLength = 9;

    /// <summary>Encodes the change as entry data.</summary>
    public byte[] Encode()
    {
        var bytes = new byte[EncodedLength];
        bytes[0] = (byte)Type;
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(1), NodeId);
        return bytes;
    }

    /// <summary>Decodes entry data written by <see cref="Encode"/>.</summary>
    /// <exception cref="FormatException">The data is not an encoded change.</exception>
    public static ConfChange Decode(ReadOnlySpan<byte> data)
    {
        if (data.Length != EncodedLength || data[0] is < 1 or > 3)
        {
            throw new FormatException($"a conf change is {EncodedLength} bytes with type 1..3; got {data.Length} bytes");
        }

        return new ConfChange((ConfChangeType)data[0], BinaryPrimitives.ReadInt64LittleEndian(data[1..]));
    }

    /// <inheritdoc />
    public override string ToString() => $"{Type}({NodeId})";
}
