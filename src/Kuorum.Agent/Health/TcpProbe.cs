using System.Net.Sockets;

namespace Kuorum.Agent.Health;

/// <summary>Opens a TCP connection to <c>host:port</c> and closes it; connecting succeeds.</summary>
public sealed class TcpProbe : IProbe
{
    private readonly string _host;
    private readonly int _port;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;

    /// <summary>A probe of <see cref="ProbeSettings.Host"/>:<see cref="ProbeSettings.Port"/>.</summary>
    public TcpProbe(ProbeSettings settings, TimeProvider? time = null)
    {
        settings.Validate();
        _host = settings.Host.Trim('[', ']');
        _port = settings.Port;
        _timeout = settings.Timeout;
        _time = time ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public Task<ProbeResult> ProbeAsync(CancellationToken cancellationToken) =>
        ProbeExecution.RunAsync(_time, _timeout, async token =>
        {
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(_host, _port, token).ConfigureAwait(false);
            return (true, "connected");
        }, cancellationToken);
}
