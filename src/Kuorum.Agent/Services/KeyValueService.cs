using Grpc.Core;
using Kuorum.Agent.Node;
using Kuorum.Api.V1;
using Kuorum.Storage.StateMachine;

namespace Kuorum.Agent.Services;

/// <summary>The replicated key-value store, etcd v3 style. Writes go through the Raft log (forwarded to the leader from a follower); reads are served locally at the asked consistency.</summary>
public sealed class KeyValueService(RaftHost host) : Api.V1.KeyValue.KeyValueBase
{
    private const int MaxRange = 10_000;
    private const int WatchBatch = 1000;

    /// <inheritdoc />
    public override async Task<GetResponse> Get(GetRequest request, ServerCallContext context)
    {
        var key = Requests.Key(request.Key, host.Limits);
        using var deadline = Requests.Deadline(context);
        var (record, revision) = await host.ReadAsync(Requests.Level(request.Consistency), m => (m.Get(key.Span), m.Revision), deadline.Token);
        var response = new GetResponse { Header = Requests.Header(host, revision) };
        if (record is not null)
        {
            response.Kv = Requests.ToRecord(record);
        }

        return response;
    }

    /// <inheritdoc />
    public override async Task<PutResponse> Put(PutRequest request, ServerCallContext context)
    {
        var key = Requests.Key(request.Key, host.Limits);
        var value = Requests.Value(request.Value, host.Limits);
        var lease = Requests.Lease(request.Lease);
        var command = request.PrevKv
            ? KvCommand.Txn([], [KvOp.Get(key), KvOp.Put(key, value, lease)], [], host.Limits)
            : KvCommand.Put(key, value, lease, host.Limits);
        using var deadline = Requests.Deadline(context);
        var result = await host.ProposeAsync(command, deadline.Token);
        Requests.ThrowIfFailed(result, lease);
        var response = new PutResponse { Header = Requests.Header(host, result.Revision) };
        if (request.PrevKv && result.Results.Count > 0 && result.Results[0].Record is { } previous)
        {
            response.PrevKv = Requests.ToRecord(previous);
        }

        return response;
    }

    /// <inheritdoc />
    public override async Task<DeleteResponse> Delete(DeleteRequest request, ServerCallContext context)
    {
        var key = Requests.Key(request.Key, host.Limits);
        var command = KvCommand.Txn([], request.PrevKv ? [KvOp.Get(key), KvOp.Delete(key)] : [KvOp.Delete(key)], [], host.Limits);
        using var deadline = Requests.Deadline(context);
        var result = await host.ProposeAsync(command, deadline.Token);
        var response = new DeleteResponse { Header = Requests.Header(host, result.Revision), Deleted = result.Results[^1].Deleted };
        if (request.PrevKv && result.Results[0].Record is { } previous)
        {
            response.PrevKv = Requests.ToRecord(previous);
        }

        return response;
    }

    /// <inheritdoc />
    public override async Task<RangeResponse> Range(RangeRequest request, ServerCallContext context)
    {
        var prefix = Requests.Prefix(request.Prefix, host.Limits);
        if (request.Limit is < 0 or > MaxRange)
        {
            throw Requests.Invalid($"limit is {request.Limit}; it must be 0 (the maximum) to {MaxRange}");
        }

        var limit = request.Limit == 0 ? MaxRange : request.Limit;
        using var deadline = Requests.Deadline(context);
        var (records, revision) = await host.ReadAsync(Requests.Level(request.Consistency), m =>
        {
            // Reserved keys sort first (they start with byte 0); an empty prefix skips past them.
            var reserved = prefix.IsEmpty ? m.Range(new byte[] { ReservedKeys.Marker }, int.MaxValue).Count : 0;
            return (m.Range(prefix.Span, limit + 1 + reserved).Where(r => !ReservedKeys.IsReserved(r.Key.Span)).ToList(), m.Revision);
        }, deadline.Token);
        var response = new RangeResponse { Header = Requests.Header(host, revision), More = records.Count > limit };
        response.Kvs.AddRange(records.Take(limit).Select(r => Requests.ToRecord(r, request.KeysOnly)));
        return response;
    }

    /// <inheritdoc />
    public override async Task<TxnResponse> Txn(TxnRequest request, ServerCallContext context)
    {
        var compares = request.Compare.Select(ToCompare).ToList();
        var success = request.Success.Select(ToOp).ToList();
        var failure = request.Failure.Select(ToOp).ToList();
        var command = KvCommand.Txn(compares, success, failure, host.Limits);
        using var deadline = Requests.Deadline(context);
        var result = await host.ProposeAsync(command, deadline.Token);
        var lease = success.Concat(failure).Select(o => o.Lease).FirstOrDefault(l => l != 0);
        Requests.ThrowIfFailed(result, lease);
        var response = new TxnResponse { Header = Requests.Header(host, result.Revision), Succeeded = result.Succeeded };
        foreach (var op in result.Results)
        {
            response.Responses.Add(op.Kind switch
            {
                KvOpKind.Get => new ResponseOp { Get = new GetResponse { Header = response.Header, Kv = op.Record is { } r ? Requests.ToRecord(r) : null } },
                KvOpKind.Put => new ResponseOp { Put = new PutResponse { Header = response.Header } },
                _ => new ResponseOp { Delete = new DeleteResponse { Header = response.Header, Deleted = op.Deleted } },
            });
        }

        return response;
    }

    /// <inheritdoc />
    public override async Task Watch(WatchRequest request, IServerStreamWriter<WatchResponse> responseStream, ServerCallContext context)
    {
        var key = request.Prefix ? Requests.Prefix(request.Key, host.Limits) : Requests.Key(request.Key, host.Limits);
        if (request.StartRevision < 0)
        {
            throw Requests.Invalid($"start_revision is {request.StartRevision}; it must be 0 (from the next change) or a revision");
        }

        using var ending = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, host.ShuttingDown);
        var token = ending.Token;
        // EventsSince(r) answers the revisions after r.
        var after = request.StartRevision > 0 ? request.StartRevision - 1 : await host.ReadAsync(null, m => m.Revision, token);
        while (!token.IsCancellationRequested)
        {
            var changed = host.RevisionChanged.Next;
            var batch = await host.ReadAsync(null, m => m.EventsSince(after, WatchBatch), token);
            if (batch.Compacted)
            {
                await responseStream.WriteAsync(new WatchResponse
                {
                    Header = Requests.Header(host, batch.Revision),
                    Compacted = true,
                    CompactRevision = batch.OldestRevision,
                }, token);
                return;
            }

            var response = new WatchResponse { Header = Requests.Header(host, batch.Revision) };
            foreach (var e in batch.Events)
            {
                var matches = request.Prefix ? e.Kv.Key.Span.StartsWith(key.Span) : e.Kv.Key.Span.SequenceEqual(key.Span);
                if (matches && !ReservedKeys.IsReserved(e.Kv.Key.Span))
                {
                    response.Events.Add(new Event { Type = e.Type == KvEventType.Put ? Event.Types.EventType.Put : Event.Types.EventType.Delete, Kv = Requests.ToRecord(e.Kv) });
                }
            }

            if (response.Events.Count > 0)
            {
                await responseStream.WriteAsync(response, token);
            }

            after = batch.Events.Count > 0 ? batch.Events[^1].Revision : batch.Revision;
            if (batch.Events.Count == 0)
            {
                await changed.WaitAsync(token);
            }
        }
    }

    private KvCompare ToCompare(Compare compare)
    {
        var key = Requests.Key(compare.Key, host.Limits, "compare key");
        var op = compare.Result switch
        {
            Compare.Types.Result.Equal => KvCompareOperator.Equal,
            Compare.Types.Result.NotEqual => KvCompareOperator.NotEqual,
            Compare.Types.Result.Greater => KvCompareOperator.Greater,
            Compare.Types.Result.Less => KvCompareOperator.Less,
            _ => throw Requests.Invalid($"compare result {(int)compare.Result} is unknown; use EQUAL, GREATER, LESS or NOT_EQUAL"),
        };
        return compare.Target switch
        {
            Compare.Types.Target.Version => KvCompare.Version(key, op, compare.Version),
            Compare.Types.Target.Create => KvCompare.CreateRevision(key, op, compare.CreateRevision),
            Compare.Types.Target.Mod => KvCompare.ModRevision(key, op, compare.ModRevision),
            Compare.Types.Target.Value => KvCompare.Value(key, op, Requests.Value(compare.Value, host.Limits)),
            Compare.Types.Target.Lease => KvCompare.Lease(key, op, Requests.Lease(compare.Lease)),
            _ => throw Requests.Invalid($"compare target {(int)compare.Target} is unknown; use VERSION, CREATE, MOD, VALUE or LEASE"),
        };
    }

    private KvOp ToOp(RequestOp op) => op.RequestCase switch
    {
        RequestOp.RequestOneofCase.Get => KvOp.Get(Requests.Key(op.Get.Key, host.Limits)),
        RequestOp.RequestOneofCase.Put => KvOp.Put(Requests.Key(op.Put.Key, host.Limits), Requests.Value(op.Put.Value, host.Limits), Requests.Lease(op.Put.Lease)),
        RequestOp.RequestOneofCase.Delete => KvOp.Delete(Requests.Key(op.Delete.Key, host.Limits)),
        _ => throw Requests.Invalid("a transaction operation is empty; set get, put or delete"),
    };
}
