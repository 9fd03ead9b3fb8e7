namespace Kuorum.Raft;

// InstallSnapshot in chunks: the leader streams its latest snapshot to a follower that needs compacted
// entries; the follower assembles it and, unless its log already holds the snapshot's last entry, discards
// its log and hands the snapshot to the application.
public sealed partial class RaftNode
{
    private SnapshotMetadata? _incomingSnapshot;
    private readonly MemoryStream _incomingData = new();

    private void SendSnapshot(long to, Progress pr)
    {
        if (_snapshotData is null)
        {
            throw new InvalidOperationException($"node {to} needs entries up to {_log.Snapshot.Index}, which are compacted, and no snapshot data is held");
        }

        if (pr.State != ReplicationState.Snapshot || pr.PendingSnapshot != _log.Snapshot.Index)
        {
            pr.BecomeSnapshot(_log.Snapshot.Index);
        }

        SendSnapshotChunk(to, pr);
    }

    private void SendSnapshotChunk(long to, Progress pr)
    {
        if (pr.PendingSnapshot != _log.Snapshot.Index)
        {
            // A newer snapshot replaced the one being sent: start over with it.
            pr.BecomeSnapshot(_log.Snapshot.Index);
        }

        var length = _snapshotData!.Length;
        var offset = Math.Min(pr.SnapshotOffset, length);
        var chunk = new byte[(int)Math.Min(_config.SnapshotChunkBytes, length - offset)];
        var read = _snapshotData.Read(offset, chunk);
        Send(new Message
        {
            Type = MessageType.InstallSnapshot,
            From = Id,
            To = to,
            Term = Term,
            Index = _log.Snapshot.Index,
            Snapshot = _log.Snapshot,
            Offset = offset,
            Data = chunk.AsMemory(0, read),
            Done = offset + read == length,
        });
    }

    private void HandleSnapshotResponse(Message m, Progress pr)
    {
        if (pr.State != ReplicationState.Snapshot)
        {
            return;
        }

        if (m.Done)
        {
            // The follower holds everything up to m.Index (the snapshot, or its own committed log beyond it).
            pr.MaybeUpdate(Math.Min(m.Index, _log.LastIndex));
            pr.BecomeProbe();
            SendAppends(m.From);
            return;
        }

        if (m.Index != pr.PendingSnapshot || pr.PendingSnapshot != _log.Snapshot.Index)
        {
            pr.BecomeSnapshot(_log.Snapshot.Index);
        }
        else
        {
            pr.SnapshotOffset = Math.Clamp(m.Offset, 0, _snapshotData!.Length);
        }

        SendSnapshotChunk(m.From, pr);
    }

    private void HandleSnapshotChunk(Message m)
    {
        if (m.Snapshot is not { } snapshot || snapshot.Index != m.Index || snapshot.Index < 0 || m.Offset < 0)
        {
            return;
        }

        if (snapshot.Index <= _log.Committed)
        {
            // Already covered: nothing to install, and our log up to the commit index matches the leader's.
            _incomingSnapshot = null;
            RespondSnapshot(m, _log.Committed, 0, done: true);
            return;
        }

        if (_incomingSnapshot is null || _incomingSnapshot.Index != snapshot.Index || _incomingSnapshot.Term != snapshot.Term)
        {
            if (m.Offset != 0)
            {
                RespondSnapshot(m, snapshot.Index, 0, done: false);
                return;
            }

            _incomingSnapshot = snapshot;
            _incomingData.SetLength(0);
        }

        if (m.Offset == _incomingData.Length)
        {
            _incomingData.Write(m.Data.Span);
        }

        if (!m.Done || m.Offset + m.Data.Length != _incomingData.Length)
        {
            RespondSnapshot(m, snapshot.Index, _incomingData.Length, done: false);
            return;
        }

        var data = _incomingData.ToArray();
        _incomingSnapshot = null;
        _incomingData.SetLength(0);
        if (_log.MatchTerm(snapshot.Index, snapshot.Term))
        {
            // Our log already holds the snapshot's last entry: keep the log, just commit (§7).
            _log.CommitTo(snapshot.Index);
        }
        else
        {
            _log.Restore(snapshot);
            _snapshotData = new ByteArraySnapshotReader(data);
            _snapshotToInstall = new ReceivedSnapshot(snapshot, data);
            SyncMembership();
        }

        RespondSnapshot(m, snapshot.Index, data.Length, done: true);
    }

    private void RespondSnapshot(Message m, long index, long offset, bool done) =>
        Send(new Message { Type = MessageType.InstallSnapshotResponse, From = Id, To = m.From, Term = Term, Index = index, Offset = offset, Done = done });
}
