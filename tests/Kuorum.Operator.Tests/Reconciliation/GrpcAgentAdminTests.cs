using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Kuorum.Api.V1;
using Kuorum.Operator.Admin;
using Kuorum.Operator.Tls;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Kuorum.Operator.Tests.Reconciliation;

/// <summary>The gRPC Admin client against an in-process kuorum.v1.Admin server on 127.0.0.1 (h2c).</summary>
public sealed class GrpcAgentAdminTests
{
    [Fact]
    public async Task Calls_MapStatusAndMembership_AndErrorsBecomeAgentAdminExceptions()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        var service = new FakeAdminService();
        builder.Services.AddSingleton(service);
        await using var app = builder.Build();
        app.MapGrpcService<FakeAdminService>();
        await app.StartAsync();
        var address = new Uri(app.Urls.First()).Authority;

        using var admin = new GrpcAgentAdmin();
        var agent = new AgentEndpoint("demo-0", 0, address);
        var status = await admin.StatusAsync(agent, CancellationToken.None);
        Assert.Equal(1, status.NodeId);
        Assert.Equal(1, status.LeaderId);
        Assert.Equal(7, status.Term);
        Assert.Equal(42, status.CommitIndex);
        Assert.Equal([MemberRole.Voter, MemberRole.Learner], status.Members.Select(m => m.Role));
        Assert.Equal(["passing", "critical"], status.Members.Select(m => m.Health));
        Assert.Equal(40, status.Members[1].MatchIndex);

        await admin.AddLearnerAsync(agent, 4, "demo-3.demo-peers.apps.svc.cluster.local:7400", CancellationToken.None);
        await admin.RemoveMemberAsync(agent, 5, CancellationToken.None);
        await admin.TransferLeadershipAsync(agent, 0, CancellationToken.None);
        Assert.Equal(["AddLearner 4 demo-3.demo-peers.apps.svc.cluster.local:7400", "Remove 5", "Transfer 0"], service.Calls);

        var refused = await Assert.ThrowsAsync<AgentAdminException>(() => admin.PromoteAsync(agent, 4, CancellationToken.None));
        Assert.Contains("FailedPrecondition", refused.Message, StringComparison.Ordinal);
        await app.StopAsync();
    }

    [Fact]
    public async Task MutualTls_PresentsTheClientCertificate_ChecksTheAgentsNameAndCa_AndFollowsRenewal()
    {
        var now = DateTimeOffset.UtcNow;
        var names = new[] { "*.demo-peers.apps.svc.cluster.local", "*.demo-peers.apps.svc" };
        var ca = Issue(CertificateIssuer.IssueCa("test CA", now));
        var server = Issue(CertificateIssuer.IssuePeer(ca, "server", names, [], now));
        var client = Issue(CertificateIssuer.IssuePeer(ca, "client", names, [], now));
        var otherCa = Issue(CertificateIssuer.IssueCa("other CA", now));
        var stranger = Issue(CertificateIssuer.IssuePeer(otherCa, "stranger", names, [], now));

        var seen = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, o =>
        {
            o.Protocols = HttpProtocols.Http2;
            o.UseHttps(https =>
            {
                https.ServerCertificate = server;
                https.ClientCertificateMode = Microsoft.AspNetCore.Server.Kestrel.Https.ClientCertificateMode.RequireCertificate;
                https.ClientCertificateValidation = (certificate, _, _) =>
                {
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(ca);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    var ok = chain.Build(certificate);
                    seen.Enqueue($"{certificate.GetNameInfo(X509NameType.SimpleName, false)} {(ok ? "accepted" : "refused")}");
                    return ok;
                };
            });
        }));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(new FakeAdminService());
        await using var app = builder.Build();
        app.MapGrpcService<FakeAdminService>();
        await app.StartAsync();
        var address = "127.0.0.1:" + new Uri(app.Urls.First()).Port;
        const string podName = "demo-0.demo-peers.apps.svc.cluster.local";

        using var admin = new GrpcAgentAdmin();
        AgentEndpoint Endpoint(X509Certificate2 certificate, X509Certificate2 trusted, string serverName, string id) => new("demo-0", 0, address)
        {
            ServerName = serverName,
            Tls = new AgentTlsCredentials(certificate, [], [trusted], id),
        };

        // Dialled at 127.0.0.1, checked as the pod's DNS name (which the server certificate carries by wildcard).
        var status = await admin.StatusAsync(Endpoint(client, ca, podName, "a"), CancellationToken.None);
        Assert.Equal(7, status.Term);
        Assert.Equal(["client accepted"], seen);

        // A name the certificate does not carry, a CA that did not sign it, a client certificate from another CA: refused.
        var wrongName = await Assert.ThrowsAsync<AgentAdminException>(() => admin.StatusAsync(Endpoint(client, ca, "demo-0.other-peers.apps.svc.cluster.local", "a"), CancellationToken.None));
        Assert.Contains("SSL", wrongName.ToString(), StringComparison.Ordinal);
        await Assert.ThrowsAsync<AgentAdminException>(() => admin.StatusAsync(Endpoint(client, otherCa, podName, "b"), CancellationToken.None));
        await Assert.ThrowsAsync<AgentAdminException>(() => admin.StatusAsync(Endpoint(stranger, ca, podName, "c"), CancellationToken.None));
        Assert.Contains("stranger refused", seen);

        // Without TLS the TLS-only port does not answer.
        await Assert.ThrowsAsync<AgentAdminException>(() => admin.StatusAsync(new AgentEndpoint("demo-0", 0, address), CancellationToken.None));

        // New credentials (a renewed certificate) replace the cached channel.
        var renewed = Issue(CertificateIssuer.IssuePeer(ca, "renewed", names, [], now));
        await admin.StatusAsync(Endpoint(renewed, ca, podName, "d"), CancellationToken.None);
        Assert.Equal("renewed accepted", seen.Last());
        await app.StopAsync();
    }

    private static X509Certificate2 Issue(PemPair pem) =>
        X509Certificate2.CreateFromPem(pem.CertificatePem, pem.PrivateKeyPem);

    private sealed class FakeAdminService : Api.V1.Admin.AdminBase
    {
        public List<string> Calls { get; } = [];

        public override Task<StatusResponse> Status(StatusRequest request, ServerCallContext context) => Task.FromResult(new StatusResponse
        {
            Id = 1,
            LeaderId = 1,
            Term = 7,
            CommitIndex = 42,
            Role = Role.Leader,
            Members =
            {
                new Member { Id = 1, Voter = true, Health = Health.Passing, Weight = 100, MatchIndex = 42, Address = "a:7400" },
                new Member { Id = 2, Voter = false, Health = Health.Critical, Weight = 0, MatchIndex = 40, Address = "b:7400" },
            },
        });

        public override Task<MembershipResponse> AddLearner(AddLearnerRequest request, ServerCallContext context)
        {
            Calls.Add($"AddLearner {request.Id} {request.Address}");
            return Task.FromResult(new MembershipResponse());
        }

        public override Task<MembershipResponse> Promote(PromoteRequest request, ServerCallContext context) =>
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "learner 4 lags"));

        public override Task<MembershipResponse> RemoveMember(RemoveMemberRequest request, ServerCallContext context)
        {
            Calls.Add($"Remove {request.Id}");
            return Task.FromResult(new MembershipResponse());
        }

        public override Task<TransferLeadershipResponse> TransferLeadership(TransferLeadershipRequest request, ServerCallContext context)
        {
            Calls.Add($"Transfer {request.TargetId}");
            return Task.FromResult(new TransferLeadershipResponse { LeaderId = 2, Term = 8 });
        }
    }
}
