using Grpc.Core;
using Kuorum.Agent.Node;
using Kuorum.Api.V1;
using Kuorum.Storage.StateMachine;

namespace Kuorum.Agent.Services;

/// <summary>Leases: granted and revoked through the log, kept alive at the leader (forwarded there from a follower).</summary>
public sealed class LeaseService(RaftHost host) : Api.V1.Lease.LeaseBase
{
    /// <summary>Shortest TTL in milliseconds.</summary>
    public const long MinTtlMs = 1000;

    /// <summary>Longest TTL in milliseconds (a day).</summary>
    public const long MaxTtlMs = 86_400_000;

    /// <inheritdoc />
    public override async Task<LeaseGrantResponse> Grant(LeaseGrantRequest request, ServerCallContext context)
    {
        if (request.TtlMs is < MinTtlMs or > MaxTtlMs)
        {
            throw Requests.Invalid($"ttl_ms is {request.TtlMs}; it must be {MinTtlMs}..{MaxTtlMs}");
        }

        Requests.Lease(request.Id, "id");
        using var deadline = Requests.Deadline(context);
        while (true)
        {
            var id = request.Id != 0 ? request.Id : Random.Shared.NextInt64(1, long.MaxValue);
            var result = await host.ProposeAsync(KvCommand.LeaseGrant(id, request.TtlMs), deadline.Token);
            if (result.Error == KvApplyError.LeaseExists && request.Id == 0)
            {
                continue;
            }

            Requests.ThrowIfFailed(result, id);
            return new LeaseGrantResponse { Header = Requests.Header(host, result.Revision), Id = id, TtlMs = request.TtlMs };
        }
    }

    /// <inheritdoc />
    public override async Task KeepAlive(IAsyncStreamReader<LeaseKeepAliveRequest> requestStream, IServerStreamWriter<LeaseKeepAliveResponse> responseStream, ServerCallContext context)
    {
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
        {
            if (request.Id <= 0)
            {
                throw Requests.Invalid($"id is {request.Id}; lease ids are positive");
            }

            using var deadline = Requests.Deadline(context);
            var ttl = await host.KeepAliveAsync([request.Id], peek: false, deadline.Token);
            await responseStream.WriteAsync(new LeaseKeepAliveResponse
            {
                Header = Requests.Header(host, host.View.Revision),
                Id = request.Id,
                TtlMs = ttl[0],
            }, context.CancellationToken);
        }
    }

    /// <inheritdoc />
    public override async Task<LeaseRevokeResponse> Revoke(LeaseRevokeRequest request, ServerCallContext context)
    {
        if (request.Id <= 0)
        {
            throw Requests.Invalid($"id is {request.Id}; lease ids are positive");
        }

        using var deadline = Requests.Deadline(context);
        var result = await host.ProposeAsync(KvCommand.LeaseRevoke(request.Id), deadline.Token);
        Requests.ThrowIfFailed(result, request.Id);
        return new LeaseRevokeResponse { Header = Requests.Header(host, result.Revision) };
    }

    /// <inheritdoc />
    public override async Task<LeaseTimeToLiveResponse> TimeToLive(LeaseTimeToLiveRequest request, ServerCallContext context)
    {
        if (request.Id <= 0)
        {
            throw Requests.Invalid($"id is {request.Id}; lease ids are positive");
        }

        using var deadline = Requests.Deadline(context);
        var (lease, revision) = await host.ReadAsync(Raft.ReadConsistency.Linearizable, m => (m.GetLease(request.Id), m.Revision), deadline.Token);
        var response = new LeaseTimeToLiveResponse { Header = Requests.Header(host, revision), Id = request.Id, TtlMs = -1 };
        if (lease is not null)
        {
            response.GrantedTtlMs = lease.TtlMilliseconds;
            response.TtlMs = (await host.KeepAliveAsync([request.Id], peek: true, deadline.Token))[0];
            response.Keys.AddRange(lease.Keys.Where(k => !ReservedKeys.IsReserved(k.Span)).Select(k => Google.Protobuf.ByteString.CopyFrom(k.Span)));
        }

        return response;
    }
}
