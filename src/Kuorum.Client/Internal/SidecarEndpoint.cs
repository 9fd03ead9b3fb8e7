using System.Net;
using System.Net.Sockets;

namespace Kuorum.Client.Internal;

/// <summary>Where the sidecar is: a Unix socket or an http(s) address. Both go through our own connect callback.</summary>
internal sealed class SidecarEndpoint
{
    // The authority sent on a Unix socket; the agent does not route on it.
    private static readonly Uri _socketAuthority = new("http://localhost");

    private SidecarEndpoint(Uri address, string? socketPath)
    {
        Address = address;
        SocketPath = socketPath;
    }

    public Uri Address { get; }

    public string? SocketPath { get; }

    /// <summary>What error messages and logs call this sidecar.</summary>
    public string Description => SocketPath is null ? Address.ToString() : $"unix:{SocketPath}";

    public static SidecarEndpoint ForSocket(string path) => new(_socketAuthority, path);

    public static SidecarEndpoint ForAddress(Uri address) => new(address, null);

    public SocketsHttpHandler CreateHandler(TimeSpan connectTimeout) => new()
    {
        // A connect callback of our own keeps the channel "passive": every call dials at once instead of waiting
        // out the channel's reconnect back-off, which is what a local sidecar that restarts needs.
        ConnectCallback = SocketPath is null ? ConnectTcpAsync : ConnectUnixAsync,
        ConnectTimeout = connectTimeout,
        EnableMultipleHttp2Connections = true,
        PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        // Detects a sidecar that hangs without closing its sockets while a watch or keep-alive stream is open.
        KeepAlivePingDelay = TimeSpan.FromSeconds(10),
        KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
        KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
    };

    private async ValueTask<Stream> ConnectUnixAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath!), cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async ValueTask<Stream> ConnectTcpAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new DnsEndPoint(context.DnsEndPoint.Host, context.DnsEndPoint.Port), cancellationToken)
                .ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
