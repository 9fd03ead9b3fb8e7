using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Grpc.Core;
using Grpc.Net.Client;
using Kuorum.Agent.Security;
using Kuorum.Raft;
using Wire = Kuorum.Api.Peer.V1;

namespace Kuorum.Agent.Transport;

/// <summary>
/// Messages to the other agents. Each peer gets a queue and one long-lived client stream (<c>Peer.Raft</c>) that
/// carries its messages in batches, so appends pipeline without waiting for each other. Raft tolerates loss, so a
/// full queue or a broken stream drops messages rather than blocking the loop; a broken stream is reopened after a
/// short back-off (25 ms doubling to 250 ms: a restarted peer is back within about one heartbeat, where gRPC's
/// default reconnect back-off of 1 s and more would stretch a failover).
/// <para>
/// The same HTTP/2 connection carries the unary calls a follower forwards to its leader (proposals, keep-alives) and
/// admin calls. Round-trip times are measured from heartbeats: the send time of each round is matched with its
/// response.
/// </para>
/// <para>
/// With <see cref="PeerCertificates"/> every channel is HTTPS with mutual TLS: it presents this agent's current
/// certificate at each new connection and accepts a peer only if its certificate chains to the configured CAs and names
/// the host of the peer's address. Without, channels are plaintext HTTP/2.
/// </para>
/// </summary>
public sealed class PeerTransport : IAsyncDisposable
{
    private static readonly TimeSpan _firstBackoff = TimeSpan.FromMilliseconds(25);
    private static readonly TimeSpan _maxBackoff = TimeSpan.FromMilliseconds(250);
    private readonly long _selfId;
    private readonly ILogger _logger;
    private readonly PeerCertificates? _tls;
    private readonly ConcurrentDictionary<long, Link> _links = new();
    private readonly ConcurrentDictionary<long, string> _addresses = new();
    private readonly ConcurrentDictionary<(long Peer, long Round), long> _heartbeatsSent = new();
    private readonly CancellationTokenSource _closing = new();

    /// <summary>Creates the transport of node <paramref name="selfId"/>; with <paramref name="tls"/>, over mutual TLS.</summary>
    public PeerTransport(long selfId, ILogger logger, PeerCertificates? tls = null)
    {
        _selfId = selfId;
        _logger = logger;
        _tls = tls;
    }

    /// <summary>Latest round-trip time to each peer, from heartbeats.</summary>
    public ConcurrentDictionary<long, TimeSpan> RoundTrips { get; } = new();

    /// <summary>Messages dropped because a peer's queue was full or its stream broken, by peer.</summary>
    public ConcurrentDictionary<long, long> Dropped { get; } = new();

    /// <summary>Sets where each member is; links to members no longer listed are closed.</summary>
    public void SetAddresses(IReadOnlyDictionary<long, string> addresses)
    {
        foreach (var (id, address) in addresses)
        {
            if (id == _selfId)
            {
                continue;
            }

            if (!_addresses.TryGetValue(id, out var old) || old != address)
            {
                _addresses[id] = address;
                if (_links.TryRemove(id, out var stale))
                {
                    _ = stale.DisposeAsync().AsTask();
                }
            }
        }
    }

    /// <summary>Queues messages for their receivers; never blocks.</summary>
    public void Send(IReadOnlyList<Message> messages)
    {
        foreach (var message in messages)
        {
            if (message.Type == MessageType.Heartbeat)
            {
                _heartbeatsSent[(message.To, message.Context)] = Stopwatch.GetTimestamp();
            }

            if (LinkTo(message.To) is not { } link || !link.Queue.Writer.TryWrite(message))
            {
                Dropped.AddOrUpdate(message.To, 1, (_, n) => n + 1);
            }
        }
    }

    /// <summary>Notes a message that arrived from a peer (for round-trip times).</summary>
    public void ObserveInbound(Message message)
    {
        if (message.Type == MessageType.HeartbeatResponse && _heartbeatsSent.TryRemove((message.From, message.Context), out var sentAt))
        {
            RoundTrips[message.From] = Stopwatch.GetElapsedTime(sentAt);
            if (_heartbeatsSent.Count > 4096)
            {
                _heartbeatsSent.Clear();
            }
        }
    }

    /// <summary>The gRPC channel to a member, or null when its address is unknown.</summary>
    public GrpcChannel? ChannelTo(long id) => LinkTo(id)?.Channel;

    /// <summary>Forwards a proposal to the leader; returns where it placed it, or null when the leader could not take it.</summary>
    public async Task<(long Index, long Term)?> TryProposeAsync(long leader, byte[] command, CancellationToken cancellationToken)
    {
        if (ChannelTo(leader) is not { } channel)
        {
            return null;
        }

        try
        {
            var reply = await new Wire.Peer.PeerClient(channel)
                .ProposeAsync(new Wire.ProposeRequest { Command = Google.Protobuf.ByteString.CopyFrom(command) }, cancellationToken: cancellationToken)
                .ConfigureAwait(false);
            return (reply.Index, reply.Term);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.FailedPrecondition or StatusCode.Internal or StatusCode.Unknown)
        {
            _logger.LogDebug("forwarding a proposal to {Leader} failed: {Status}", leader, e.Status);
            return null;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument)
        {
            throw new Node.AgentException(StatusCode.InvalidArgument, e.Status.Detail);
        }
    }

    /// <summary>Forwards lease keep-alives to the leader; null when it could not answer.</summary>
    public async Task<long[]?> TryKeepAliveAsync(long leader, IReadOnlyList<long> leases, bool peek, CancellationToken cancellationToken)
    {
        if (ChannelTo(leader) is not { } channel)
        {
            return null;
        }

        try
        {
            var request = new Wire.KeepAliveRequest { Peek = peek };
            request.Leases.AddRange(leases);
            var reply = await new Wire.Peer.PeerClient(channel).KeepAliveAsync(request, cancellationToken: cancellationToken).ConfigureAwait(false);
            return reply.TtlMs.Count == leases.Count ? [.. reply.TtlMs] : null;
        }
        catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled)
        {
            _logger.LogDebug("forwarding keep-alives to {Leader} failed: {Status}", leader, e.Status);
            return null;
        }
    }

    private Link? LinkTo(long id)
    {
        if (_links.TryGetValue(id, out var link))
        {
            return link;
        }

        if (id == _selfId || !_addresses.TryGetValue(id, out var address) || _closing.IsCancellationRequested)
        {
            return null;
        }

        var created = new Link(id, address, this);
        if (_links.TryAdd(id, created))
        {
            created.Start();
            return created;
        }

        _ = created.DisposeAsync().AsTask();
        return _links.GetValueOrDefault(id);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync().ConfigureAwait(false);
        foreach (var link in _links.Values)
        {
            await link.DisposeAsync().ConfigureAwait(false);
        }

        _links.Clear();
        _closing.Dispose();
    }

    /// <summary>
    /// Creates the channel to a peer's port (<c>host:port</c>), quick to reconnect, with keep-alive pings to notice dead
    /// connections: HTTP/2 without TLS, or with <paramref name="tls"/> HTTPS where both ends show certificates and the
    /// peer's must name <c>host</c>.
    /// </summary>
    public static GrpcChannel CreateChannel(string address, PeerCertificates? tls = null)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(1),
            KeepAlivePingDelay = TimeSpan.FromSeconds(2),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(2),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            EnableMultipleHttp2Connections = true,
        };
        string target;
        if (tls is null)
        {
            target = address.Contains("://", StringComparison.Ordinal) ? address : "http://" + address;
        }
        else
        {
            var authority = address.Contains("://", StringComparison.Ordinal) ? new Uri(address).Authority : address;
            var uri = new Uri("https://" + authority);
            handler.SslOptions = tls.ClientOptions(uri.Host.Trim('[', ']'), authority);
            target = uri.GetLeftPart(UriPartial.Authority);
        }

        return GrpcChannel.ForAddress(target, new GrpcChannelOptions
        {
            HttpHandler = handler,
            InitialReconnectBackoff = _firstBackoff,
            MaxReconnectBackoff = _maxBackoff,
            MaxReceiveMessageSize = 64 << 20,
            MaxSendMessageSize = 64 << 20,
        });
    }

    private sealed class Link : IAsyncDisposable
    {
        private readonly long _peer;
        private readonly PeerTransport _owner;
        private readonly CancellationTokenSource _stop;
        private Task _pump = Task.CompletedTask;

        public Link(long peer, string address, PeerTransport owner)
        {
            _peer = peer;
            _owner = owner;
            _stop = CancellationTokenSource.CreateLinkedTokenSource(owner._closing.Token);
            Channel = CreateChannel(address, owner._tls);
            Queue = System.Threading.Channels.Channel.CreateBounded<Message>(new BoundedChannelOptions(8192)
            {
                SingleReader = true,
                FullMode = BoundedChannelFullMode.DropWrite,
            });
        }

        public GrpcChannel Channel { get; }

        public Channel<Message> Queue { get; }

        public void Start() => _pump = Task.Run(PumpAsync);

        private async Task PumpAsync()
        {
            var client = new Wire.Peer.PeerClient(Channel);
            var backoff = _firstBackoff;
            var token = _stop.Token;
            while (!token.IsCancellationRequested)
            {
                try
                {
                    if (!await Queue.Reader.WaitToReadAsync(token).ConfigureAwait(false))
                    {
                        return;
                    }

                    using var call = client.Raft(cancellationToken: token);
                    while (await Queue.Reader.WaitToReadAsync(token).ConfigureAwait(false))
                    {
                        var batch = new Wire.RaftBatch();
                        while (batch.Messages.Count < 512 && Queue.Reader.TryRead(out var message))
                        {
                            batch.Messages.Add(MessageCodec.Encode(message));
                        }

                        await call.RequestStream.WriteAsync(batch, token).ConfigureAwait(false);
                        backoff = _firstBackoff;
                    }
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e) when (e is RpcException or IOException or HttpRequestException or InvalidOperationException or ObjectDisposedException)
                {
                    // The peer is down or restarting: drop what is queued (Raft resends) and reconnect soon.
                    var dropped = 0;
                    while (Queue.Reader.TryRead(out _))
                    {
                        dropped++;
                    }

                    _owner.Dropped.AddOrUpdate(_peer, dropped, (_, n) => n + dropped);
                    _owner._logger.LogDebug("stream to {Peer} broke ({Error}); reconnecting in {Backoff} ms", _peer, e.Message, backoff.TotalMilliseconds);
                    try
                    {
                        await Task.Delay(backoff, token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }

                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _maxBackoff.Ticks));
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            Queue.Writer.TryComplete();
            try
            {
                await _pump.ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or RpcException)
            {
            }

            Channel.Dispose();
            _stop.Dispose();
        }
    }
}
