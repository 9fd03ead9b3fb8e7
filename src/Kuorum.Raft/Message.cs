namespace Kuorum.Raft;

/// <summary>The messages nodes exchange. Every one carries the sender's term.</summary>
public enum MessageType : byte
{
    /// <summary>Would you vote for me in term+1? Sent without raising the sender's term.</summary>
    PreVote = 1,
    PreVoteResponse,
    Vote,
    VoteResponse,

    /// <summary>Entries after (Index, LogTerm), and the leader's commit index.</summary>
    Append,
    AppendResponse,

    /// <summary>Leader liveness, commit propagation, and confirmation rounds for reads (Context = round).</summary>
    Heartbeat,
    HeartbeatResponse,

    /// <summary>One chunk of the leader's snapshot, at Offset; Done on the last chunk.</summary>
    InstallSnapshot,
    InstallSnapshotResponse,

    /// <summary>The leader tells its chosen successor to campaign at once.</summary>
    TimeoutNow,

    /// <summary>A follower asks the leader for a read index on behalf of a local reader (Context).</summary>
    ReadIndex,
    ReadIndexResponse,
}

/// <summary>
/// A message between nodes. Fields are shared between types; see each field for its meaning per type.
/// Messages are immutable once built.
/// </summary>
public sealed class Message
{
    /// <summary>The message's kind.</summary>
    public required MessageType Type { get; init; }

    /// <summary>Sender's node id.</summary>
    public required long From { get; init; }

    /// <summary>Receiver's node id.</summary>
    public required long To { get; init; }

    /// <summary>Sender's term (for PreVote: the term it would campaign in).</summary>
    public required long Term { get; init; }

    /// <summary>Append: term of the entry at <see cref="Index"/>. Votes: term of the last entry. Reject: term at <see cref="RejectHint"/>.</summary>
    public long LogTerm { get; init; }

    /// <summary>Append: index before the entries. Votes: last index. AppendResponse: last matching index, or the rejected index. ReadIndex responses: the read index. InstallSnapshot messages: the snapshot's index.</summary>
    public long Index { get; init; }

    /// <summary>AppendResponse with <see cref="Reject"/>: the follower's guess at where the logs agree.</summary>
    public long RejectHint { get; init; }

    /// <summary>Append: entries to append after <see cref="Index"/>.</summary>
    public IReadOnlyList<Entry> Entries { get; init; } = [];

    /// <summary>Append and Heartbeat: the leader's commit index (for heartbeats, capped at the follower's match).</summary>
    public long Commit { get; init; }

    /// <summary>Responses: the request was refused.</summary>
    public bool Reject { get; init; }

    /// <summary>Heartbeats: the leader's round number. ReadIndex: the requester's context, echoed back.</summary>
    public long Context { get; init; }

    /// <summary>Vote: the campaign was started by a leadership transfer and may override the leader lease.</summary>
    public bool Transfer { get; init; }

    /// <summary>InstallSnapshot: the snapshot being sent.</summary>
    public SnapshotMetadata? Snapshot { get; init; }

    /// <summary>InstallSnapshot: byte offset of <see cref="Data"/>. Response: bytes received so far.</summary>
    public long Offset { get; init; }

    /// <summary>InstallSnapshot: a chunk of the snapshot.</summary>
    public ReadOnlyMemory<byte> Data { get; init; }

    /// <summary>InstallSnapshot: this is the last chunk. Response: the snapshot is installed (or already covered).</summary>
    public bool Done { get; init; }

    /// <inheritdoc />
    public override string ToString()
    {
        var detail = Type switch
        {
            MessageType.Append => $" prev={Index}/{LogTerm} n={Entries.Count} commit={Commit}",
            MessageType.AppendResponse => Reject ? $" reject={Index} hint={RejectHint}/{LogTerm}" : $" index={Index}",
            MessageType.PreVote or MessageType.Vote => $" last={Index}/{LogTerm}{(Transfer ? " transfer" : "")}",
            MessageType.PreVoteResponse or MessageType.VoteResponse => Reject ? " reject" : " grant",
            MessageType.Heartbeat => $" commit={Commit} round={Context}",
            MessageType.HeartbeatResponse => $" round={Context}",
            MessageType.InstallSnapshot => $" snap={Snapshot?.Index}/{Snapshot?.Term} off={Offset} len={Data.Length}{(Done ? " done" : "")}",
            MessageType.InstallSnapshotResponse => $" snap={Index} off={Offset}{(Done ? " done" : "")}",
            MessageType.ReadIndex => $" ctx={Context}",
            MessageType.ReadIndexResponse => $" ctx={Context} index={Index}{(Reject ? " reject" : "")}",
            _ => "",
        };
        return $"{From}->{To} {Type} t{Term}{detail}";
    }
}
