using Grpc.Core;
using Kuorum.Agent.Node;
using Kuorum.Agent.Transport;
using Kuorum.Api.Peer.V1;

namespace Kuorum.Agent.Services;

/// <summary>The peer port's protocol: Raft message streams from the other agents, and the calls followers forward to their leader.</summary>
public sealed class PeerService(RaftHost host, ILogger<PeerService> logger) : Peer.PeerBase
{
    /// <inheritdoc />
    public override async Task<StreamAck> Raft(IAsyncStreamReader<RaftBatch> requestStream, ServerCallContext context)
    {
        var self = host.Options.NodeId;
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, host.ShuttingDown);
        try
        {
            await ReceiveAsync(requestStream, self, context.Peer, ending.Token);
        }
        catch (IOException)
        {
            // The peer went away mid-stream (it stopped or restarted): it will open a new stream.
        }

        return new StreamAck();
    }

    private async Task ReceiveAsync(IAsyncStreamReader<RaftBatch> requestStream, long self, string peer, CancellationToken token)
    {
        await foreach (var batch in requestStream.ReadAllAsync(token))
        {
            foreach (var wire in batch.Messages)
            {
                Raft.Message message;
                try
                {
                    message = MessageCodec.Decode(wire);
                }
                catch (Exception e) when (e is FormatException or ArgumentException)
                {
                    logger.LogWarning("refused a malformed Raft message from {Peer}: {Error}", peer, e.Message);
                    throw Requests.Invalid($"malformed Raft message: {e.Message}");
                }

                if (message.To != self)
                {
                    throw Requests.Invalid($"a Raft message for node {message.To} reached node {self}: check the peer addresses");
                }

                host.Receive(message);
            }
        }
    }

    /// <inheritdoc />
    public override async Task<ProposeResponse> Propose(ProposeRequest request, ServerCallContext context)
    {
        if (request.Command.IsEmpty)
        {
            throw Requests.Invalid("command is empty");
        }

        // Refuse what would fail to apply: the command must decode.
        try
        {
            Storage.StateMachine.KvCommand.Decode(request.Command.Memory);
        }
        catch (InvalidDataException e)
        {
            throw Requests.Invalid($"command is not a key-value command: expected {e.Message}");
        }
        var (index, term) = await host.ProposeAsLeaderAsync(request.Command.Memory);
        return new ProposeResponse { Index = index, Term = term };
    }

    /// <inheritdoc />
    public override async Task<KeepAliveResponse> KeepAlive(KeepAliveRequest request, ServerCallContext context)
    {
        if (!host.View.IsLeader)
        {
            throw new NotLeaderException(host.View.LeaderId, "not the leader");
        }

        var ttls = await host.KeepAliveAsync(request.Leases, request.Peek, context.CancellationToken);
        var response = new KeepAliveResponse();
        response.TtlMs.AddRange(ttls);
        return response;
    }

    /// <inheritdoc />
    public override async Task<HealthAck> ReportHealth(HealthReport request, ServerCallContext context)
    {
        if (request.MemberId < 1 || request.Tier is < 0 or > 3 || request.LatencyUs < 0 || request.AppAddress.Length > 1024)
        {
            throw Requests.Invalid("a health report needs a member id of 1 or more, tier 0..3, a latency of 0 or more and an address of at most 1024 characters");
        }

        var version = await host.ReceiveReportAsync(request.MemberId, (Health.HealthTier)request.Tier,
            TimeSpan.FromMicroseconds(request.LatencyUs), request.AppAddress);
        return new HealthAck { TableVersion = version };
    }
}
