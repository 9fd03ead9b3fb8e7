using Grpc.Core;

namespace Kuorum.Client;

/// <summary>
/// The sidecar could not be reached or could not serve the call right now (gRPC UNAVAILABLE): it is starting,
/// restarting, or has no leader. Reads were already retried; writes never are, since a write may have been applied.
/// </summary>
public sealed class KuorumUnavailableException : KuorumException
{
    /// <summary>Creates the exception for an UNAVAILABLE answer.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="serverMessage">The status detail.</param>
    /// <param name="innerException">The <see cref="RpcException"/>.</param>
    public KuorumUnavailableException(string message, string? serverMessage, Exception? innerException)
        : base(message, Grpc.Core.StatusCode.Unavailable, serverMessage, innerException)
    {
    }
}
