using Grpc.Core;
using Kuorum.Api.V1;
using Xunit.Abstractions;

namespace Kuorum.Agent.Tests.Harness;

/// <summary>A cluster of real agent processes on loopback, each with a data directory under one temporary root.</summary>
public sealed class AgentCluster : IAsyncDisposable
{
    private readonly ITestOutputHelper _output;
    private readonly string _root;

    private AgentCluster(ITestOutputHelper output, string root, List<AgentProcess> agents)
    {
        _output = output;
        _root = root;
        Agents = agents;
    }

    /// <summary>The agents, by position (id − 1).</summary>
    public List<AgentProcess> Agents { get; }

    /// <summary>Timing every test cluster uses: the defaults.</summary>
    public static readonly string[] Timing = ["--heartbeat-interval", "50ms", "--election-timeout", "500ms"];

    /// <summary>The peer list of every agent.</summary>
    public string Peers => string.Join(",", Agents.Select(a => $"{a.Id}={a.PeerAddress}"));

    /// <summary>Starts <paramref name="size"/> agents that bootstrap one cluster.</summary>
    public static AgentCluster Start(ITestOutputHelper output, int size, params string[] args) => Start(output, size, _ => args);

    /// <summary>Starts <paramref name="size"/> agents that bootstrap one cluster, agent <c>i</c> with <paramref name="argsOf"/>(i) added.</summary>
    public static AgentCluster Start(ITestOutputHelper output, int size, Func<long, string[]> argsOf)
    {
        var root = Path.Combine(Path.GetTempPath(), "kuorum-agent-tests", Guid.NewGuid().ToString("N"));
        var agents = Enumerable.Range(1, size).Select(i => new AgentProcess(i, Path.Combine(root, $"node{i}"), [.. Timing, .. argsOf(i)])).ToList();
        var cluster = new AgentCluster(output, root, agents);
        foreach (var agent in agents)
        {
            agent.Start(cluster.Peers);
        }

        return cluster;
    }

    /// <summary>Adds an agent process that starts empty (joining); the caller adds it to the configuration.</summary>
    public AgentProcess AddJoiner(params string[] args)
    {
        var id = Agents.Count + 1;
        var agent = new AgentProcess(id, Path.Combine(_root, $"node{id}"), [.. Timing, .. args]);
        Agents.Add(agent);
        agent.Start(Peers, "--join", "true");
        return agent;
    }

    /// <summary>Waits until every running agent names the same leader in the same term; returns the leader.</summary>
    public async Task<AgentProcess> WaitForLeaderAsync(TimeSpan? timeout = null, AgentProcess? not = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (DateTime.UtcNow < deadline)
        {
            if (Agents.FirstOrDefault(a => a.ExitCode is not null && a != not && a.ExitCode != 137) is { } exited)
            {
                throw new InvalidOperationException($"agent {exited.Id} exited with {exited.ExitCode}:\n" + Dump());
            }

            var views = new List<LeaderInfo>();
            foreach (var agent in Agents.Where(a => a.IsRunning))
            {
                try
                {
                    views.Add(await agent.Leadership.GetLeaderAsync(new GetLeaderRequest(), deadline: DateTime.UtcNow.AddSeconds(2)));
                }
                catch (RpcException)
                {
                    views.Clear();
                    break;
                }
            }

            if (views.Count > 0 && views.All(v => v.LeaderId != 0 && v.LeaderId == views[0].LeaderId && v.Term == views[0].Term)
                && Agents.First(a => a.Id == views[0].LeaderId) is { IsRunning: true } leader && leader != not)
            {
                return leader;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("no agreed leader in time:\n" + Dump());
    }

    /// <summary>The agents' output, for a failure message.</summary>
    public string Dump() => string.Join("\n", Agents.Select(a => $"--- agent {a.Id} (running: {a.IsRunning}, exit {a.ExitCode}) ---\n{Tail(a.Output, 60)}"));

    private static string Tail(string text, int lines) => string.Join("\n", text.Split('\n').TakeLast(lines));

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _output.WriteLine(Dump());
        foreach (var agent in Agents)
        {
            await agent.DisposeAsync();
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
