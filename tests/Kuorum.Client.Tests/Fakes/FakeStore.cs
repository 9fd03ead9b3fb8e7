using System.Collections.Concurrent;
using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using Kuorum.Api.V1;
using Record = Kuorum.Api.V1.Record;

namespace Kuorum.Client.Tests.Fakes;

/// <summary>
/// The fake sidecar's in-memory key-value state with etcd's model: revisions, versions, leases, compare-and-swap
/// transactions, watch history with compaction, and server-side locks. One lock guards everything; no Raft.
/// </summary>
internal sealed class FakeStore
{
    private const int MaxKeyBytes = 4096;

    private readonly System.Threading.Lock _gate = new();
    private readonly SortedDictionary<ByteString, Record> _data = new(ByteStringComparer.Instance);
    private readonly List<(long Revision, Event Change)> _history = [];
    private readonly List<WatchSubscription> _watchers = [];
    private readonly Dictionary<long, FakeLease> _leases = [];
    private TaskCompletionSource _changed = NewSignal();
    private long _nextLeaseId = 0x100;
    private long _revision = 1;
    private long _compactRevision;

    public long MemberId { get; init; } = 1;

    public long Term { get; set; } = 1;

    public long Revision
    {
        get
        {
            lock (_gate)
            {
                return _revision;
            }
        }
    }

    /// <summary>Every lease revoked through the API, in order.</summary>
    public ConcurrentQueue<long> RevokedLeases { get; } = new();

    /// <summary>Every lock key released through the API, in order.</summary>
    public ConcurrentQueue<string> ReleasedLocks { get; } = new();

    /// <summary>Drops history older than <paramref name="revision"/>: watches from before it answer "compacted".</summary>
    public void Compact(long revision)
    {
        lock (_gate)
        {
            _compactRevision = revision;
            _history.RemoveAll(h => h.Revision < revision);
        }
    }

    public int KeepAlivesOf(long leaseId)
    {
        lock (_gate)
        {
            return _leases.TryGetValue(leaseId, out var lease) ? lease.KeepAlives : -1;
        }
    }

    public bool LeaseExists(long leaseId)
    {
        lock (_gate)
        {
            return _leases.ContainsKey(leaseId);
        }
    }

    public GetResponse Get(GetRequest request)
    {
        ValidateKey(request.Key);
        lock (_gate)
        {
            return new GetResponse { Header = Header(), Kv = _data.TryGetValue(request.Key, out var record) ? record.Clone() : null };
        }
    }

    public PutResponse Put(PutRequest request)
    {
        ValidateKey(request.Key);
        lock (_gate)
        {
            RequireLease(request.Lease);
            var batch = new Batch(this);
            var previous = batch.Put(request.Key, request.Value, request.Lease);
            batch.Commit();
            return new PutResponse { Header = Header(), PrevKv = request.PrevKv ? previous : null };
        }
    }

    public DeleteResponse Delete(DeleteRequest request)
    {
        ValidateKey(request.Key);
        lock (_gate)
        {
            var batch = new Batch(this);
            var previous = batch.Delete(request.Key);
            batch.Commit();
            return new DeleteResponse { Header = Header(), Deleted = previous is null ? 0 : 1, PrevKv = request.PrevKv ? previous : null };
        }
    }

    public RangeResponse Range(RangeRequest request)
    {
        var limit = request.Limit == 0 ? 10_000 : request.Limit;
        lock (_gate)
        {
            var matches = _data.Where(kv => kv.Key.Span.StartsWith(request.Prefix.Span)).Select(kv => kv.Value).ToList();
            var response = new RangeResponse { Header = Header(), More = matches.Count > limit };
            foreach (var record in matches.Take(limit))
            {
                var copy = record.Clone();
                if (request.KeysOnly)
                {
                    copy.Value = ByteString.Empty;
                }

                response.Kvs.Add(copy);
            }

            return response;
        }
    }

    public TxnResponse Txn(TxnRequest request)
    {
        foreach (var op in request.Success.Concat(request.Failure))
        {
            ValidateKey(op.RequestCase switch
            {
                RequestOp.RequestOneofCase.Get => op.Get.Key,
                RequestOp.RequestOneofCase.Put => op.Put.Key,
                RequestOp.RequestOneofCase.Delete => op.Delete.Key,
                _ => throw new RpcException(new Status(StatusCode.InvalidArgument, "fake: a transaction operation is empty")),
            });
        }

        lock (_gate)
        {
            var succeeded = request.Compare.All(Holds);
            var batch = new Batch(this);
            var responses = new List<ResponseOp>();
            foreach (var op in succeeded ? request.Success : request.Failure)
            {
                switch (op.RequestCase)
                {
                    case RequestOp.RequestOneofCase.Get:
                        responses.Add(new ResponseOp
                        {
                            Get = new GetResponse { Kv = _data.TryGetValue(op.Get.Key, out var record) ? record.Clone() : null },
                        });
                        break;
                    case RequestOp.RequestOneofCase.Put:
                        RequireLease(op.Put.Lease);
                        batch.Put(op.Put.Key, op.Put.Value, op.Put.Lease);
                        responses.Add(new ResponseOp { Put = new PutResponse() });
                        break;
                    case RequestOp.RequestOneofCase.Delete:
                        var deleted = batch.Delete(op.Delete.Key);
                        responses.Add(new ResponseOp { Delete = new DeleteResponse { Deleted = deleted is null ? 0 : 1 } });
                        break;
                }
            }

            batch.Commit();
            var response = new TxnResponse { Header = Header(), Succeeded = succeeded };
            response.Responses.Add(responses);
            return response;
        }
    }

    /// <summary>
    /// Registers a watcher: the history from the start revision and every later change, with no gap and no
    /// duplicate between the two. <paramref name="replayOverlap"/> starts that many revisions early, as an agent that
    /// redelivers would.
    /// </summary>
    public WatchSubscription Subscribe(WatchRequest request, long replayOverlap)
    {
        lock (_gate)
        {
            if (request.StartRevision != 0 && request.StartRevision < _compactRevision)
            {
                return WatchSubscription.CompactedAt(_compactRevision, Header());
            }

            var start = request.StartRevision == 0 ? _revision + 1 : Math.Max(1, request.StartRevision - replayOverlap);
            var subscription = new WatchSubscription(request.Key, request.Prefix);
            foreach (var group in _history.Where(h => h.Revision >= start && subscription.Matches(h.Change.Kv.Key)).GroupBy(h => h.Revision))
            {
                var response = new WatchResponse { Header = Header() };
                response.Events.Add(group.Select(h => h.Change.Clone()));
                subscription.Channel.Writer.TryWrite(response);
            }

            _watchers.Add(subscription);
            return subscription;
        }
    }

    public void Unsubscribe(WatchSubscription subscription)
    {
        lock (_gate)
        {
            _watchers.Remove(subscription);
        }
    }

    public LeaseGrantResponse Grant(LeaseGrantRequest request)
    {
        if (request.TtlMs is < 1_000 or > 86_400_000)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"ttl_ms is {request.TtlMs}; a lease lives 1,000 to 86,400,000 ms"));
        }

        lock (_gate)
        {
            var id = request.Id != 0 ? request.Id : _nextLeaseId++;
            if (!_leases.TryAdd(id, new FakeLease(id, request.TtlMs)))
            {
                throw new RpcException(new Status(StatusCode.AlreadyExists, $"lease {id} already exists"));
            }

            return new LeaseGrantResponse { Header = Header(), Id = id, TtlMs = request.TtlMs };
        }
    }

    /// <summary>Renews a lease: its TTL, or 0 when it is gone.</summary>
    public LeaseKeepAliveResponse KeepAlive(LeaseKeepAliveRequest request)
    {
        lock (_gate)
        {
            if (!_leases.TryGetValue(request.Id, out var lease))
            {
                return new LeaseKeepAliveResponse { Header = Header(), Id = request.Id, TtlMs = 0 };
            }

            lease.KeepAlives++;
            return new LeaseKeepAliveResponse { Header = Header(), Id = request.Id, TtlMs = lease.TtlMs };
        }
    }

    public LeaseRevokeResponse Revoke(LeaseRevokeRequest request)
    {
        lock (_gate)
        {
            if (!EndLease(request.Id))
            {
                throw new RpcException(new Status(StatusCode.NotFound, $"lease {request.Id} not found"));
            }

            RevokedLeases.Enqueue(request.Id);
            return new LeaseRevokeResponse { Header = Header() };
        }
    }

    /// <summary>Ends a lease as if the leader had not heard from it for its TTL: its keys and locks go.</summary>
    public void Expire(long leaseId)
    {
        lock (_gate)
        {
            EndLease(leaseId);
        }
    }

    public LeaseTimeToLiveResponse TimeToLive(LeaseTimeToLiveRequest request)
    {
        lock (_gate)
        {
            if (!_leases.TryGetValue(request.Id, out var lease))
            {
                return new LeaseTimeToLiveResponse { Header = Header(), Id = request.Id, TtlMs = -1 };
            }

            var response = new LeaseTimeToLiveResponse { Header = Header(), Id = request.Id, TtlMs = lease.TtlMs, GrantedTtlMs = lease.TtlMs };
            response.Keys.Add(lease.Keys);
            return response;
        }
    }

    /// <summary>
    /// etcd's lock recipe, server side: a key <c>name/lease</c> bound to the lease, held when it is the oldest key
    /// under <c>name/</c>. The hold begins at a revision of its own, so every later holder's fencing token is larger.
    /// </summary>
    public async Task<LockResponse> AcquireAsync(LockRequest request, CancellationToken cancellationToken)
    {
        var nameBytes = ByteString.CopyFromUtf8(request.Name);
        if (nameBytes.Length is < 1 or > 256)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"lock name is {nameBytes.Length} bytes; names are 1 to 256 bytes"));
        }

        if (request.Lease == 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "lease is required: a lock is held by a lease"));
        }

        var prefix = ByteString.CopyFromUtf8(request.Name + "/");
        var key = ByteString.CopyFromUtf8($"{request.Name}/{request.Lease:x}");
        lock (_gate)
        {
            RequireLease(request.Lease);
            if (!_data.ContainsKey(key))
            {
                var batch = new Batch(this);
                batch.Put(key, ByteString.Empty, request.Lease);
                batch.Commit();
            }
        }

        using var waitLimit = request.WaitMs > 0 ? new CancellationTokenSource(TimeSpan.FromMilliseconds(request.WaitMs)) : null;
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, waitLimit?.Token ?? CancellationToken.None);
        try
        {
            while (true)
            {
                Task changed;
                lock (_gate)
                {
                    if (!_data.ContainsKey(key))
                    {
                        throw new RpcException(new Status(StatusCode.NotFound, $"lease {request.Lease} ended while waiting for lock '{request.Name}'"));
                    }

                    var oldest = _data.Where(kv => kv.Key.Span.StartsWith(prefix.Span)).MinBy(kv => kv.Value.CreateRevision).Key;
                    if (oldest == key)
                    {
                        var batch = new Batch(this);
                        batch.Put(key, ByteString.CopyFromUtf8("held"), request.Lease);
                        batch.Commit();
                        return new LockResponse { Header = Header(), Key = key, FencingToken = _revision, Term = Term };
                    }

                    changed = _changed.Task;
                }

                await changed.WaitAsync(waiting.Token);
            }
        }
        catch (OperationCanceledException)
        {
            lock (_gate)
            {
                var batch = new Batch(this);
                batch.Delete(key);
                batch.Commit();
            }

            if (waitLimit?.IsCancellationRequested == true && !cancellationToken.IsCancellationRequested)
            {
                throw new RpcException(new Status(StatusCode.DeadlineExceeded, $"lock '{request.Name}' still held after {request.WaitMs} ms"));
            }

            throw;
        }
    }

    public UnlockResponse Release(UnlockRequest request)
    {
        lock (_gate)
        {
            var batch = new Batch(this);
            batch.Delete(request.Key);
            batch.Commit();
            ReleasedLocks.Enqueue(request.Key.ToStringUtf8());
            return new UnlockResponse { Header = Header() };
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static void ValidateKey(ByteString key)
    {
        if (key.IsEmpty || key.Length > MaxKeyBytes)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"key is {key.Length} bytes; keys are 1 to {MaxKeyBytes} bytes"));
        }
    }

    private static int CompareTo(long current, long given) => current.CompareTo(given);

    private ResponseHeader Header() => new() { Revision = _revision, Term = Term, MemberId = MemberId };

    private void RequireLease(long leaseId)
    {
        if (leaseId != 0 && !_leases.ContainsKey(leaseId))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"lease {leaseId} not found"));
        }
    }

    private bool Holds(Compare compare)
    {
        _data.TryGetValue(compare.Key, out var record);
        int order;
        switch (compare.Target)
        {
            case Compare.Types.Target.Version:
                order = CompareTo(record?.Version ?? 0, compare.Version);
                break;
            case Compare.Types.Target.Create:
                order = CompareTo(record?.CreateRevision ?? 0, compare.CreateRevision);
                break;
            case Compare.Types.Target.Mod:
                order = CompareTo(record?.ModRevision ?? 0, compare.ModRevision);
                break;
            case Compare.Types.Target.Lease:
                order = CompareTo(record?.Lease ?? 0, compare.Lease);
                break;
            case Compare.Types.Target.Value:
                if (record is null)
                {
                    return false;
                }

                order = record.Value.Span.SequenceCompareTo(compare.Value.Span);
                break;
            default:
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"fake: unknown compare target {compare.Target}"));
        }

        return compare.Result switch
        {
            Compare.Types.Result.Equal => order == 0,
            Compare.Types.Result.Greater => order > 0,
            Compare.Types.Result.Less => order < 0,
            Compare.Types.Result.NotEqual => order != 0,
            _ => throw new RpcException(new Status(StatusCode.InvalidArgument, $"fake: unknown compare result {compare.Result}")),
        };
    }

    private bool EndLease(long leaseId)
    {
        if (!_leases.Remove(leaseId, out var lease))
        {
            return false;
        }

        var batch = new Batch(this);
        foreach (var key in lease.Keys.ToList())
        {
            batch.Delete(key);
        }

        batch.Commit();
        return true;
    }

    /// <summary>The writes of one revision, applied in place and published on commit.</summary>
    private sealed class Batch(FakeStore store)
    {
        private readonly long _revision = store._revision + 1;
        private readonly List<Event> _events = [];

        public Record? Put(ByteString key, ByteString value, long leaseId)
        {
            store._data.TryGetValue(key, out var previous);
            var record = new Record
            {
                Key = key,
                Value = value,
                CreateRevision = previous?.CreateRevision ?? _revision,
                ModRevision = _revision,
                Version = (previous?.Version ?? 0) + 1,
                Lease = leaseId,
            };
            if (previous is not null && previous.Lease != 0 && store._leases.TryGetValue(previous.Lease, out var oldLease))
            {
                oldLease.Keys.Remove(key);
            }

            if (leaseId != 0)
            {
                store._leases[leaseId].Keys.Add(key);
            }

            store._data[key] = record;
            _events.Add(new Event { Type = Event.Types.EventType.Put, Kv = record.Clone() });
            return previous?.Clone();
        }

        public Record? Delete(ByteString key)
        {
            if (!store._data.Remove(key, out var previous))
            {
                return null;
            }

            if (previous.Lease != 0 && store._leases.TryGetValue(previous.Lease, out var lease))
            {
                lease.Keys.Remove(key);
            }

            _events.Add(new Event { Type = Event.Types.EventType.Delete, Kv = new Record { Key = key, ModRevision = _revision } });
            return previous;
        }

        public void Commit()
        {
            if (_events.Count == 0)
            {
                return;
            }

            store._revision = _revision;
            foreach (var change in _events)
            {
                store._history.Add((_revision, change));
            }

            foreach (var watcher in store._watchers)
            {
                var matching = _events.Where(e => watcher.Matches(e.Kv.Key)).ToList();
                if (matching.Count > 0)
                {
                    var response = new WatchResponse { Header = store.Header() };
                    response.Events.Add(matching.Select(e => e.Clone()));
                    watcher.Channel.Writer.TryWrite(response);
                }
            }

            var changed = store._changed;
            store._changed = NewSignal();
            changed.TrySetResult();
        }
    }
}

/// <summary>A lease of the fake store.</summary>
internal sealed class FakeLease(long id, long ttlMs)
{
    public long Id { get; } = id;

    public long TtlMs { get; } = ttlMs;

    public HashSet<ByteString> Keys { get; } = [];

    public int KeepAlives { get; set; }
}

/// <summary>One watcher of the fake store: what it watches and the responses waiting for it.</summary>
internal sealed class WatchSubscription(ByteString key, bool prefix)
{
    public Channel<WatchResponse> Channel { get; } = System.Threading.Channels.Channel.CreateUnbounded<WatchResponse>();

    public WatchResponse? Compacted { get; private init; }

    public static WatchSubscription CompactedAt(long compactRevision, ResponseHeader header) =>
        new(ByteString.Empty, false) { Compacted = new WatchResponse { Header = header, Compacted = true, CompactRevision = compactRevision } };

    public bool Matches(ByteString changed) => prefix ? changed.Span.StartsWith(key.Span) : changed == key;
}
