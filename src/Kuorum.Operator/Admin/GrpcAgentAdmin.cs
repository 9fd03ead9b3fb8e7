using System.Collections.Concurrent;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Kuorum.Api.V1;

namespace Kuorum.Operator.Admin;

/// <summary>
/// <see cref="IAgentAdmin"/> over the agent's <c>kuorum.v1.Admin</c> gRPC service on its peer port. Without TLS,
/// plain HTTP/2. With <see cref="AgentEndpoint.Tls"/>, HTTPS with mutual TLS: the operator presents the client
/// certificate and trusts only the given CA certificates (not the system's), connects to
/// <see cref="AgentEndpoint.Address"/> (the pod IP) and requires the agent's certificate to name
/// <see cref="AgentEndpoint.ServerName"/> (the pod's DNS name). One channel per agent address, kept for reuse and
/// replaced when the credentials or the server name change.
/// </summary>
internal sealed class GrpcAgentAdmin : IAgentAdmin, IDisposable
{
    private readonly ConcurrentDictionary<string, (string Signature, GrpcChannel Channel)> _channels = new();

    public async Task<AgentStatus> StatusAsync(AgentEndpoint agent, CancellationToken ct)
    {
        var response = await CallAsync(agent, c => c.StatusAsync(new StatusRequest(), cancellationToken: ct).ResponseAsync).ConfigureAwait(false);
        return new AgentStatus(response.Id, response.LeaderId, response.Term, response.CommitIndex, response.Members.Select(Map).ToList());
    }

    public Task AddLearnerAsync(AgentEndpoint leader, long id, string address, CancellationToken ct) =>
        CallAsync(leader, c => c.AddLearnerAsync(new AddLearnerRequest { Id = id, Address = address }, cancellationToken: ct).ResponseAsync);

    public Task PromoteAsync(AgentEndpoint leader, long id, CancellationToken ct) =>
        CallAsync(leader, c => c.PromoteAsync(new PromoteRequest { Id = id }, cancellationToken: ct).ResponseAsync);

    public Task RemoveMemberAsync(AgentEndpoint leader, long id, CancellationToken ct) =>
        CallAsync(leader, c => c.RemoveMemberAsync(new RemoveMemberRequest { Id = id }, cancellationToken: ct).ResponseAsync);

    public Task TransferLeadershipAsync(AgentEndpoint leader, long targetId, CancellationToken ct) =>
        CallAsync(leader, c => c.TransferLeadershipAsync(new TransferLeadershipRequest { TargetId = targetId }, cancellationToken: ct).ResponseAsync);

    public void Dispose()
    {
        foreach (var (_, channel) in _channels.Values)
        {
            channel.Dispose();
        }
    }

    private async Task<T> CallAsync<T>(AgentEndpoint agent, Func<Api.V1.Admin.AdminClient, Task<T>> call)
    {
        var channel = Channel(agent);
        try
        {
            return await call(new Api.V1.Admin.AdminClient(channel)).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            throw new AgentAdminException($"{agent.PodName} ({agent.Address}): {e.Status.StatusCode}: {e.Status.Detail}", 0, e);
        }
    }

    private GrpcChannel Channel(AgentEndpoint agent)
    {
        var signature = agent.Tls is null ? "h2c" : $"tls|{agent.Tls.Id}|{agent.ServerName}";
        while (true)
        {
            if (_channels.TryGetValue(agent.Address, out var known))
            {
                if (known.Signature == signature)
                {
                    return known.Channel;
                }

                // New credentials (a renewed certificate) or a new mode: a new channel; calls in flight on the old one end.
                var replacement = (signature, Create(agent));
                if (_channels.TryUpdate(agent.Address, replacement, known))
                {
                    known.Channel.Dispose();
                    return replacement.Item2;
                }

                replacement.Item2.Dispose();
                continue;
            }

            var created = (signature, Create(agent));
            if (_channels.TryAdd(agent.Address, created))
            {
                return created.Item2;
            }

            created.Item2.Dispose();
        }
    }

    private static GrpcChannel Create(AgentEndpoint agent)
    {
        if (agent.Tls is not { } tls)
        {
            return GrpcChannel.ForAddress("http://" + agent.Address);
        }

        var uri = new Uri("https://" + agent.Address);
        var (host, port) = (uri.IdnHost, uri.Port);
        var serverName = agent.ServerName ?? host;
        var trust = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        trust.CustomTrustStore.AddRange(tls.Authorities);
        trust.ExtraStore.AddRange(tls.Intermediates);
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            SslOptions = new SslClientAuthenticationOptions
            {
                TargetHost = serverName,
                ClientCertificateContext = SslStreamCertificateContext.Create(tls.Certificate, tls.Intermediates, offline: true),
                CertificateChainPolicy = trust,
            },
            // The URI names the agent by its DNS name (what its certificate carries); the connection goes to its address.
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(host, port, ct).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        var target = new UriBuilder("https", serverName, port).Uri;
        return GrpcChannel.ForAddress(target, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
    }

    private static AgentMember Map(Member m) => new(
        m.Id,
        m.Address,
        m.Voter ? MemberRole.Voter : MemberRole.Learner,
        m.Health switch
        {
            Health.Passing => "passing",
            Health.Warning => "warning",
            Health.Critical => "critical",
            _ => "unknown",
        },
        m.Weight,
        m.MatchIndex);
}
