using Grpc.Core;
using Grpc.Core.Interceptors;
using Kuorum.Agent.Node;

namespace Kuorum.Agent.Services;

/// <summary>
/// Maps what services throw to gRPC statuses with messages that say what was wrong: the agent's own refusals keep
/// their status, bad arguments become INVALID_ARGUMENT, a call that ran out of time DEADLINE_EXCEEDED. Nothing a
/// caller sends can take the agent down.
/// </summary>
public sealed class ErrorInterceptor(RaftHost host, ILogger<ErrorInterceptor> logger) : Interceptor
{
    /// <inheritdoc />
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (Exception e) when (Map(e, context) is { } mapped)
        {
            throw mapped;
        }
    }

    /// <inheritdoc />
    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
        }
        catch (Exception e) when (Map(e, context) is { } mapped)
        {
            throw mapped;
        }
    }

    /// <inheritdoc />
    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context).ConfigureAwait(false);
        }
        catch (Exception e) when (Map(e, context) is { } mapped)
        {
            throw mapped;
        }
    }

    /// <inheritdoc />
    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context).ConfigureAwait(false);
        }
        catch (Exception e) when (Map(e, context) is { } mapped)
        {
            throw mapped;
        }
    }

    private RpcException? Map(Exception e, ServerCallContext context)
    {
        switch (e)
        {
            case RpcException:
                return null;
            case AgentException agent:
                return agent.ToRpc();
            case ArgumentException argument:
                return new RpcException(new Status(StatusCode.InvalidArgument, argument.Message));
            case FormatException format:
                return new RpcException(new Status(StatusCode.InvalidArgument, format.Message));
            case IOException:
                return new RpcException(new Status(StatusCode.Unavailable, "the connection broke"));
            case OperationCanceledException when host.ShuttingDown.IsCancellationRequested:
                return new RpcException(new Status(StatusCode.Unavailable, "the agent is stopping; reconnect to another member or retry"));
            case OperationCanceledException when context.CancellationToken.IsCancellationRequested:
                return new RpcException(new Status(StatusCode.Cancelled, "the call was cancelled"));
            case OperationCanceledException:
                return new RpcException(new Status(StatusCode.DeadlineExceeded,
                    $"no answer within {Requests.DefaultTimeout.TotalSeconds:F0} s: the cluster has no leader or no quorum; retry later"));
            default:
                logger.LogError(e, "{Method} failed", context.Method);
                return new RpcException(new Status(StatusCode.Internal, $"the agent failed: {e.Message}"));
        }
    }
}
