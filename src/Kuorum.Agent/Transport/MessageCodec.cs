using Google.Protobuf;
using Kuorum.Raft;
using Wire = Kuorum.Api.Peer.V1;

namespace Kuorum.Agent.Transport;

/// <summary>Converts Raft messages to and from the peer protocol. Decoding checks what it is given: peers are not trusted to send well-formed messages.</summary>
public static class MessageCodec
{
    /// <summary>Encodes a Raft message.</summary>
    public static Wire.RaftMessage Encode(Message message)
    {
        var wire = new Wire.RaftMessage
        {
            Type = (int)message.Type,
            From = message.From,
            To = message.To,
            Term = message.Term,
            LogTerm = message.LogTerm,
            Index = message.Index,
            RejectHint = message.RejectHint,
            Commit = message.Commit,
            Reject = message.Reject,
            Context = message.Context,
            Transfer = message.Transfer,
            Offset = message.Offset,
            Done = message.Done,
        };
        foreach (var entry in message.Entries)
        {
            wire.Entries.Add(new Wire.Entry
            {
                Index = entry.Index,
                Term = entry.Term,
                Type = (int)entry.Type,
                Data = UnsafeByteOperations.UnsafeWrap(entry.Data),
            });
        }

        if (message.Snapshot is { } snapshot)
        {
            var meta = new Wire.SnapshotMeta { Index = snapshot.Index, Term = snapshot.Term };
            meta.Voters.AddRange(snapshot.Membership.Voters);
            meta.Learners.AddRange(snapshot.Membership.Learners);
            wire.Snapshot = meta;
        }

        if (!message.Data.IsEmpty)
        {
            wire.Data = UnsafeByteOperations.UnsafeWrap(message.Data);
        }

        return wire;
    }

    /// <summary>Decodes a Raft message, or throws <see cref="FormatException"/> saying what is wrong with it.</summary>
    public static Message Decode(Wire.RaftMessage wire)
    {
        if (wire.Type is < (int)MessageType.PreVote or > (int)MessageType.ReadIndexResponse)
        {
            throw new FormatException($"message type {wire.Type} is unknown; types are {(int)MessageType.PreVote}..{(int)MessageType.ReadIndexResponse}");
        }

        if (wire.From < 1 || wire.To < 1 || wire.Term < 0 || wire.Index < 0 || wire.LogTerm < 0 || wire.Commit < 0 || wire.Offset < 0)
        {
            throw new FormatException($"message from {wire.From} to {wire.To} has a negative or zero id, or a negative term, index, commit or offset");
        }

        var entries = new Entry[wire.Entries.Count];
        for (var i = 0; i < entries.Length; i++)
        {
            var e = wire.Entries[i];
            if (e.Type is < (int)EntryType.Normal or > (int)EntryType.Bootstrap || e.Index < 1 || e.Term < 0)
            {
                throw new FormatException($"entry {i} has type {e.Type}, index {e.Index}, term {e.Term}; types are 0..2, indexes 1 or more");
            }

            if (i > 0 && e.Index != entries[i - 1].Index + 1)
            {
                throw new FormatException($"entries are not consecutive: {entries[i - 1].Index} then {e.Index}");
            }

            entries[i] = new Entry(e.Index, e.Term, (EntryType)e.Type, e.Data.Memory);
        }

        SnapshotMetadata? snapshot = null;
        if (wire.Snapshot is { } meta)
        {
            if (meta.Index < 0 || meta.Term < 0 || meta.Voters.Any(v => v < 1) || meta.Learners.Any(l => l < 1))
            {
                throw new FormatException("snapshot metadata has a negative index or term, or a member id below 1");
            }

            snapshot = new SnapshotMetadata(meta.Index, meta.Term, new Membership(meta.Voters, meta.Learners));
        }

        return new Message
        {
            Type = (MessageType)wire.Type,
            From = wire.From,
            To = wire.To,
            Term = wire.Term,
            LogTerm = wire.LogTerm,
            Index = wire.Index,
            RejectHint = wire.RejectHint,
            Entries = entries,
            Commit = wire.Commit,
            Reject = wire.Reject,
            Context = wire.Context,
            Transfer = wire.Transfer,
            Snapshot = snapshot,
            Offset = wire.Offset,
            Data = wire.Data.Memory,
            Done = wire.Done,
        };
    }
}
