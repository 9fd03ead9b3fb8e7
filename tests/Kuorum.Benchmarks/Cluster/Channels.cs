using System.Net;
using Grpc.Net.Client;

namespace Kuorum.Benchmarks.Cluster;

/// <summary>The one way the load generator opens a gRPC channel, whatever the store, so both get the same client.</summary>
public static class Channels
{
    /// <summary>
    /// h2c to <paramref name="address"/> (host:port): several HTTP/2 connections when the streams of one run out (256
    /// clients exceed a server's usual 100 concurrent streams per connection), a short connect timeout so a dead member
    /// fails a call at once, and keep-alive pings off (the runs are short and on loopback).
    /// </summary>
    public static GrpcChannel Open(string address) =>
        GrpcChannel.ForAddress($"http://{address}", new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                ConnectTimeout = TimeSpan.FromMilliseconds(500),
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                AutomaticDecompression = DecompressionMethods.None,
                UseProxy = false,
            },
            MaxReceiveMessageSize = 16 << 20,
        });
}
