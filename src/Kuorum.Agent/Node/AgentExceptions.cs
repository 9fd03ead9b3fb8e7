using Grpc.Core;

namespace Kuorum.Agent.Node;

/// <summary>A request the agent refuses, with the gRPC status it maps to and a message for the caller.</summary>
public class AgentException(StatusCode code, string message) : Exception(message)
{
    /// <summary>The gRPC status for the caller.</summary>
    public StatusCode Code { get; } = code;

    /// <summary>As an <see cref="RpcException"/>.</summary>
    public RpcException ToRpc() => new(new Status(Code, Message));
}

/// <summary>This agent does not lead; <see cref="LeaderId"/> does (0 when unknown).</summary>
public sealed class NotLeaderException(long leaderId, string message) : AgentException(StatusCode.Unavailable, message)
{
    /// <summary>The leader, when known.</summary>
    public long LeaderId { get; } = leaderId;
}
