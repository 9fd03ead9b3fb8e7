using Grpc.Core;
using Kuorum.Api.V1;

namespace Kuorum.Client.Tests.Fakes;

/// <summary>kuorum.v1.KeyValue over the fake store.</summary>
internal sealed class FakeKeyValueService(FakeCluster cluster) : Api.V1.KeyValue.KeyValueBase
{
    public override Task<GetResponse> Get(GetRequest request, ServerCallContext context)
    {
        cluster.Enter("KeyValue.Get");
        return Task.FromResult(cluster.Store.Get(request));
    }

    public override Task<PutResponse> Put(PutRequest request, ServerCallContext context)
    {
        cluster.Enter("KeyValue.Put");
        return Task.FromResult(cluster.Store.Put(request));
    }

    public override Task<DeleteResponse> Delete(DeleteRequest request, ServerCallContext context)
    {
        cluster.Enter("KeyValue.Delete");
        return Task.FromResult(cluster.Store.Delete(request));
    }

    public override Task<RangeResponse> Range(RangeRequest request, ServerCallContext context)
    {
        cluster.Enter("KeyValue.Range");
        return Task.FromResult(cluster.Store.Range(request));
    }

    public override Task<TxnResponse> Txn(TxnRequest request, ServerCallContext context)
    {
        cluster.Enter("KeyValue.Txn");
        return Task.FromResult(cluster.Store.Txn(request));
    }

    public override async Task Watch(WatchRequest request, IServerStreamWriter<WatchResponse> responseStream, ServerCallContext context)
    {
        cluster.Enter("KeyValue.Watch");
        cluster.WatchRequests.Enqueue(request.Clone());
        if (cluster.RejectWatches)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "fake: watches are rejected for now"));
        }

        using var open = cluster.Streams.Track("KeyValue.Watch", context);
        var subscription = cluster.Store.Subscribe(request, cluster.WatchReplayOverlap);
        try
        {
            if (subscription.Compacted is { } compacted)
            {
                await responseStream.WriteAsync(compacted);
                return;
            }

            await foreach (var response in subscription.Channel.Reader.ReadAllAsync(context.CancellationToken))
            {
                await responseStream.WriteAsync(response);
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The client went away or the test broke the stream.
        }
        finally
        {
            cluster.Store.Unsubscribe(subscription);
        }
    }
}
