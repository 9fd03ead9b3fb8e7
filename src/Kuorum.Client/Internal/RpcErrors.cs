using Grpc.Core;

namespace Kuorum.Client.Internal;

/// <summary>Turns gRPC failures into the client's exceptions, and says which failures a stream survives.</summary>
internal static class RpcErrors
{
    /// <summary>
    /// What the caller should see: <see cref="OperationCanceledException"/> when its own token fired (gRPC reports
    /// that as CANCELLED), otherwise the mapped <see cref="KuorumException"/>.
    /// </summary>
    public static Exception Translate(RpcException e, string operation, SidecarEndpoint sidecar, CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested
            ? new OperationCanceledException($"Kuorum {operation} was cancelled.", e, cancellationToken)
            : Map(e, operation, sidecar);

    public static KuorumException Map(RpcException e, string operation, SidecarEndpoint sidecar)
    {
        var detail = string.IsNullOrEmpty(e.Status.Detail) ? e.StatusCode.ToString() : e.Status.Detail;
        if (e.StatusCode == StatusCode.Unavailable)
        {
            return new KuorumUnavailableException(
                $"Kuorum {operation}: the sidecar at {sidecar.Description} is unavailable ({detail}). " +
                "Is the agent running? Call WaitForSidecarAsync at start-up.",
                e.Status.Detail,
                e);
        }

        return new KuorumException($"Kuorum {operation} failed ({e.StatusCode}): {detail}", e.StatusCode, e.Status.Detail, e);
    }

    /// <summary>
    /// Failures after which a long-lived stream (watch, keep-alive) reconnects: the sidecar went away, restarted,
    /// reset the stream, or lost its leader. Callers check their own token first, so CANCELLED here means the other
    /// side or the connection cancelled.
    /// </summary>
    public static bool IsTransient(RpcException e) => e.StatusCode is StatusCode.Unavailable or StatusCode.Internal
        or StatusCode.Unknown or StatusCode.Cancelled or StatusCode.Aborted or StatusCode.DeadlineExceeded;
}
