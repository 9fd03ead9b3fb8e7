using Kuorum.Agent.Transport;
using Kuorum.Raft;

namespace Kuorum.Agent.Tests;

/// <summary>Raft messages survive the wire unchanged, and malformed ones are refused with a reason.</summary>
public sealed class CodecTests
{
    [Fact]
    public void EveryField_RoundTrips()
    {
        var message = new Message
        {
            Type = MessageType.Append,
            From = 1,
            To = 2,
            Term = 7,
            LogTerm = 6,
            Index = 41,
            RejectHint = 3,
            Entries = [new Entry(42, 7, EntryType.Normal, new byte[] { 1, 2, 3 }), new Entry(43, 7, EntryType.ConfChange, new ConfChange(ConfChangeType.AddLearner, 4).Encode())],
            Commit = 40,
            Reject = true,
            Context = 99,
            Transfer = true,
            Snapshot = new SnapshotMetadata(30, 5, new Membership([1, 2, 3], [4])),
            Offset = 1024,
            Data = new byte[] { 9, 8 },
            Done = true,
        };
        var back = MessageCodec.Decode(MessageCodec.Encode(message));
        Assert.Equal(message.ToString(), back.ToString());
        Assert.Equal(message.Entries, back.Entries);
        Assert.Equal(message.Snapshot, back.Snapshot);
        Assert.Equal(message.Data.ToArray(), back.Data.ToArray());
        Assert.Equal((message.RejectHint, message.Context, message.Transfer, message.Offset, message.Done, message.Reject, message.Commit),
            (back.RejectHint, back.Context, back.Transfer, back.Offset, back.Done, back.Reject, back.Commit));
    }

    [Theory]
    [InlineData(0, 1, 2, "message type 0 is unknown")]
    [InlineData(5, 0, 2, "has a negative or zero id")]
    public void MalformedMessages_AreRefused(int type, long from, long to, string reason)
    {
        var wire = new Api.Peer.V1.RaftMessage { Type = type, From = from, To = to };
        Assert.Contains(reason, Assert.Throws<FormatException>(() => MessageCodec.Decode(wire)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EntriesThatAreNotConsecutive_AreRefused()
    {
        var wire = MessageCodec.Encode(new Message
        {
            Type = MessageType.Append,
            From = 1,
            To = 2,
            Term = 1,
            Entries = [new Entry(5, 1, EntryType.Normal, new byte[] { 1 }), new Entry(6, 1, EntryType.Normal, new byte[] { 1 })],
        });
        wire.Entries[1].Index = 9;
        Assert.Contains("not consecutive: 5 then 9", Assert.Throws<FormatException>(() => MessageCodec.Decode(wire)).Message, StringComparison.Ordinal);
    }
}
