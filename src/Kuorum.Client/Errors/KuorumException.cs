using Grpc.Core;

namespace Kuorum.Client;

/// <summary>
/// A Kuorum operation failed. When the sidecar refused it, <see cref="StatusCode"/> is its gRPC status and
/// <see cref="ServerMessage"/> says what was wrong and what is allowed.
/// </summary>
public class KuorumException : Exception
{
    /// <summary>Creates an exception detected by the client itself.</summary>
    /// <param name="message">What went wrong.</param>
    public KuorumException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception detected by the client itself, with its cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public KuorumException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception for a call the sidecar answered with an error status.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="statusCode">The gRPC status.</param>
    /// <param name="serverMessage">The sidecar's own explanation (the status detail).</param>
    /// <param name="innerException">The <see cref="RpcException"/>, when there is one.</param>
    public KuorumException(string message, StatusCode statusCode, string? serverMessage, Exception? innerException)
        : base(message, innerException)
    {
        StatusCode = statusCode;
        ServerMessage = serverMessage;
    }

    /// <summary>The gRPC status the sidecar answered with; null when the client detected the problem itself.</summary>
    public StatusCode? StatusCode { get; }

    /// <summary>The sidecar's explanation (the gRPC status detail); null when the client detected the problem itself.</summary>
    public string? ServerMessage { get; }
}
