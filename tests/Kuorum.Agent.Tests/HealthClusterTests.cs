using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Grpc.Core;
using Kuorum.Agent.Tests.Harness;
using Kuorum.Demo;
using Kuorum.Api.V1;
using Xunit.Abstractions;

namespace Kuorum.Agent.Tests;

/// <summary>
/// Health with real agent processes: each agent probes a small HTTP application that this test serves on 127.0.0.1
/// and can make slow or failing. The endpoint table follows (the same version everywhere), and a leader whose
/// application fails hands leadership to a healthy member.
/// </summary>
[Collection(nameof(ClusterTests))]
public sealed class HealthClusterTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TheTable_FollowsSlowAndFailingApplications_AndLeadershipMovesToAHealthyMember()
    {
        await using var apps = new TestApps(3);
        await using var cluster = AgentCluster.Start(output, 3, id =>
        [
            "--probe-kind", "http", "--probe-port", apps.Port(id).ToString(CultureInfo.InvariantCulture), "--probe-path", "/healthz",
            "--probe-period", "200ms", "--probe-timeout", "150ms", "--probe-slow-threshold", "40ms",
            "--app-address", $"127.0.0.1:{apps.Port(id)}",
        ]);
        var leader = await cluster.WaitForLeaderAsync();

        // Every member passing, with its application's address, the same table on every agent.
        var table = await WaitForTableAsync(cluster, leader, t => t.Version > 0 && t.Members.Count == 3 && t.Members.All(m => m.Health == Api.V1.Health.Passing && m.Weight > 0));
        Assert.All(table.Members, m => Assert.Equal($"127.0.0.1:{apps.Port(m.Id)}", m.AppAddress));
        Assert.Equal("weighted", table.Strategy);

        // A slow application: its member turns warning, with less weight than the others.
        var follower = cluster.Agents.First(a => a != leader);
        apps.SetMode(follower.Id, "slow");
        table = await WaitForTableAsync(cluster, leader, t => t.Members.Single(m => m.Id == follower.Id) is { Health: Api.V1.Health.Warning } slow
            && t.Members.Where(m => m.Id != follower.Id).All(m => m.Weight > slow.Weight));
        apps.SetMode(follower.Id, "ok");

        // The leader's application fails: leadership moves to a member whose application is healthy, and the failing
        // member's weight drops to 0.
        // Asked again: on a loaded machine leadership may have moved during the slow phase.
        var failing = await cluster.WaitForLeaderAsync();
        apps.SetMode(failing.Id, "fail");
        var next = await cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(20), not: failing);
        Assert.NotEqual(failing.Id, next.Id);
        table = await WaitForTableAsync(cluster, next, t => t.Members.Single(m => m.Id == failing.Id) is { Health: Api.V1.Health.Critical, Weight: 0 });
        Assert.All(table.Members.Where(m => m.Id != failing.Id), m => Assert.True(m.Weight > 0));
        Assert.Contains("handing leadership to", failing.Output, StringComparison.Ordinal);

        // The failing member does not campaign: leadership stays away from it even when it is asked to take over.
        var refused = await Calls.RetryWhileUnavailableAsync(() =>
            next.Admin.TransferLeadershipAsync(new TransferLeadershipRequest { TargetId = failing.Id, TimeoutMs = 1500 }).ResponseAsync);
        Assert.NotEqual(failing.Id, refused.LeaderId);

        // Healthy again: back in the table.
        apps.SetMode(failing.Id, "ok");
        await WaitForTableAsync(cluster, next, t => t.Members.Single(m => m.Id == failing.Id) is { Weight: > 0 } back && back.Health != Api.V1.Health.Critical);
    }

    [Fact]
    public async Task ALeaderWithNoHealthyVoter_StaysLeader_AndReportsDegraded()
    {
        await using var apps = new TestApps(1);
        await using var cluster = AgentCluster.Start(output, 1, id =>
        [
            "--probe-kind", "tcp", "--probe-port", apps.Port(id).ToString(CultureInfo.InvariantCulture), "--probe-period", "200ms", "--probe-timeout", "150ms",
        ]);
        var leader = await cluster.WaitForLeaderAsync();
        await apps.StopAsync(1);
        var deadline = DateTime.UtcNow.AddSeconds(15);
        StatusResponse status;
        do
        {
            await Task.Delay(100);
            status = await leader.Admin.StatusAsync(new StatusRequest());
        }
        while (!status.Degraded && DateTime.UtcNow < deadline);
        Assert.True(status.Degraded, "the lone leader with a dead application reports itself degraded");
        Assert.Equal(Role.Leader, status.Role);
        await Calls.RetryWhileUnavailableAsync(() => leader.Kv.PutAsync(new PutRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8("still"), Value = Google.Protobuf.ByteString.CopyFromUtf8("writable") }).ResponseAsync);
    }

    private static async Task<EndpointTable> WaitForTableAsync(AgentCluster cluster, LocalAgent via, Func<EndpointTable, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        EndpointTable? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                last = await new Endpoints.EndpointsClient(via.Channel).ListAsync(new EndpointsRequest());
                if (condition(last))
                {
                    // Every running agent serves the same version (or catches up to it).
                    foreach (var agent in cluster.Agents.Where(a => a.IsRunning))
                    {
                        var other = await new Endpoints.EndpointsClient(agent.Channel).ListAsync(new EndpointsRequest());
                        Assert.True(other.Version >= last.Version - 1, $"agent {agent.Id} serves table v{other.Version}, the leader v{last.Version}");
                    }

                    return last;
                }
            }
            catch (RpcException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"the endpoint table did not reach the expected state; last: {last}\n{cluster.Dump()}");
    }

    /// <summary>Tiny HTTP applications on 127.0.0.1 whose /healthz can be made slow (100 ms) or failing (500).</summary>
    private sealed class TestApps : IAsyncDisposable
    {
        private readonly Dictionary<long, (TcpListener Listener, Task Loop)> _apps = [];
        private readonly Dictionary<long, string> _modes = [];
        private readonly CancellationTokenSource _stop = new();

        public TestApps(int count)
        {
            for (long id = 1; id <= count; id++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                _modes[id] = "ok";
                var member = id;
                _apps[id] = (listener, Task.Run(() => ServeAsync(member, listener, _stop.Token)));
            }
        }

        public int Port(long id) => ((IPEndPoint)_apps[id].Listener.LocalEndpoint).Port;

        public void SetMode(long id, string mode)
        {
            lock (_modes)
            {
                _modes[id] = mode;
            }
        }

        public async Task StopAsync(long id)
        {
            _apps[id].Listener.Stop();
            try
            {
                await _apps[id].Loop;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
            }
        }

        private async Task ServeAsync(long id, TcpListener listener, CancellationToken token)
        {
            while (!token.IsCancellationRequested)
            {
                var client = await listener.AcceptTcpClientAsync(token);
                _ = Task.Run(async () =>
                {
                    using (client)
                    {
                        var stream = client.GetStream();
                        var buffer = new byte[4096];
                        while (await stream.ReadAsync(buffer, token) > 0)
                        {
                            string mode;
                            lock (_modes)
                            {
                                mode = _modes[id];
                            }

                            if (mode == "slow")
                            {
                                await Task.Delay(100, token);
                            }

                            var status = mode == "fail" ? "500 Internal Server Error" : "200 OK";
                            await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Length: 2\r\n\r\nok"), token);
                        }
                    }
                }, token);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            foreach (var (listener, _) in _apps.Values)
            {
                listener.Stop();
            }
        }
    }
}
