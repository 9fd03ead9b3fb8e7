using Google.Protobuf;
using Grpc.Net.Client;
using Kuorum.Api.V1;
using Kuorum.Demo;

namespace Kuorum.Benchmarks.Cluster;

/// <summary>
/// Three real agent processes on loopback (<see cref="LocalCluster"/>, the launcher <c>make run</c> uses), at the
/// agent's default timing: heartbeat 50 ms, election timeout 500 ms. Every write is in the leader's and a follower's
/// fsynced log before it is acknowledged. Clients use the generated <c>Kuorum.Api.V1</c> KeyValue client.
/// </summary>
public sealed class KuorumCluster : IClusterUnderTest
{
    private LocalCluster? _cluster;
    private KvClient?[] _clients = [];
    private string _version = "?";

    public string System => "kuorum";

    public string Description =>
        $"Kuorum {_version}: 3 agents ({Build}), default timing: heartbeat 50 ms, election timeout 500 ms "
        + "(randomized 500-1000 ms), pre-vote and check-quorum; log fsynced (FasterLog commit) before every acknowledgement";

    private static string Build => Environment.GetEnvironmentVariable("KUORUM_AGENT_EXE") is { Length: > 0 } exe
        ? $"Native AOT {exe}"
        : $"JIT: dotnet {Path.GetFileName(LocalAgent.AgentDll)}";

    public int Members => _cluster?.Agents.Count ?? 3;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _cluster = LocalCluster.Start(3);
        _clients = new KvClient?[_cluster.Agents.Count];
        var leader = await _cluster.WaitForLeaderAsync(TimeSpan.FromSeconds(30), cancellationToken: cancellationToken).ConfigureAwait(false);
        var status = await new Admin.AdminClient(Channel(_cluster.Agents.IndexOf(leader))).StatusAsync(new StatusRequest(), cancellationToken: cancellationToken).ConfigureAwait(false);
        _version = status.Version;
    }

    public IKvClient Client(int member) => _clients[member] ??= new KvClient(Channels.Open($"127.0.0.1:{Cluster.Agents[member].ApiPort}"));

    private GrpcChannel Channel(int member) => ((KvClient)Client(member)).Channel;

    private LocalCluster Cluster => _cluster ?? throw new InvalidOperationException("the cluster is not started");

    public async Task<int> LeaderAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var leader = await Cluster.WaitForLeaderAsync(timeout, cancellationToken: cancellationToken).ConfigureAwait(false);
        return Cluster.Agents.IndexOf(leader);
    }

    public async Task KillAsync(int member)
    {
        await Cluster.Agents[member].KillAsync().ConfigureAwait(false);
        _clients[member]?.Channel.Dispose();
        _clients[member] = null;
    }

    public Task RestartAsync(int member, CancellationToken cancellationToken)
    {
        Cluster.Agents[member].Start(Cluster.Peers);
        return Task.CompletedTask;
    }

    public string Dump() => _cluster?.Dump() ?? "";

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client?.Channel.Dispose();
        }

        if (_cluster is not null)
        {
            await _cluster.DisposeAsync().ConfigureAwait(false);
        }
    }

    private sealed class KvClient(GrpcChannel channel) : IKvClient
    {
        private readonly KeyValue.KeyValueClient _kv = new(channel);

        public GrpcChannel Channel => channel;

        public async Task PutAsync(ByteString key, ByteString value, DateTime deadline, CancellationToken cancellationToken) =>
            await _kv.PutAsync(new PutRequest { Key = key, Value = value }, deadline: deadline, cancellationToken: cancellationToken).ConfigureAwait(false);

        // The default consistency, CONSISTENCY_LINEARIZABLE: a ReadIndex round through the leader.
        public async Task<bool> GetAsync(ByteString key, DateTime deadline, CancellationToken cancellationToken) =>
            (await _kv.GetAsync(new GetRequest { Key = key }, deadline: deadline, cancellationToken: cancellationToken).ConfigureAwait(false)).Kv is not null;
    }
}
