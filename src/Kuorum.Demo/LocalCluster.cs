using Grpc.Core;
using Kuorum.Api.V1;

namespace Kuorum.Demo;

/// <summary>A cluster of local agent processes on loopback, with data directories under one temporary root it removes.</summary>
public sealed class LocalCluster : IAsyncDisposable
{
    private LocalCluster(string root, List<LocalAgent> agents)
    {
        Root = root;
        Agents = agents;
    }

    /// <summary>The directory holding every agent's data.</summary>
    public string Root { get; }

    /// <summary>The agents; agent i has id i + 1.</summary>
    public List<LocalAgent> Agents { get; }

    /// <summary>id=host:port of every agent.</summary>
    public string Peers => string.Join(",", Agents.Select(a => $"{a.Id}={a.PeerAddress}"));

    /// <summary>Starts <paramref name="size"/> agents that bootstrap one cluster; <paramref name="args"/> go to every agent.</summary>
    public static LocalCluster Start(int size, params string[] args) => Start(size, _ => args);

    /// <summary>Starts <paramref name="size"/> agents that bootstrap one cluster, agent id <c>i</c> with <paramref name="argsOf"/>(i).</summary>
    public static LocalCluster Start(int size, Func<long, string[]> argsOf)
    {
        var cluster = Create(size, argsOf);
        cluster.StartAll();
        return cluster;
    }

    /// <summary>Describes <paramref name="size"/> agents (ports chosen, nothing started): <see cref="StartAll"/> starts them.</summary>
    public static LocalCluster Create(int size, Func<long, string[]> argsOf)
    {
        var root = Path.Combine(Path.GetTempPath(), "kuorum-local", Guid.NewGuid().ToString("N"));
        return new LocalCluster(root, [.. Enumerable.Range(1, size).Select(i => new LocalAgent(i, Path.Combine(root, $"node{i}"), argsOf(i)))]);
    }

    /// <summary>Starts every agent, bootstrapping one cluster.</summary>
    public void StartAll()
    {
        foreach (var agent in Agents)
        {
            agent.Start(Peers);
        }
    }

    /// <summary>
    /// Waits until every running agent names the same running leader in the same term (not <paramref name="not"/>);
    /// throws with the agents' output when that does not happen in time or an agent exits.
    /// </summary>
    public async Task<LocalAgent> WaitForLeaderAsync(TimeSpan timeout, LocalAgent? not = null, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Agents.FirstOrDefault(a => a.ExitCode is { } code && code != 137 && code != 0 && a != not) is { } exited)
            {
                throw new InvalidOperationException($"agent {exited.Id} exited with code {exited.ExitCode}:\n{Tail(exited.Output)}");
            }

            var views = new List<LeaderInfo>();
            foreach (var agent in Agents.Where(a => a.IsRunning))
            {
                try
                {
                    views.Add(await agent.Leadership.GetLeaderAsync(new GetLeaderRequest(), deadline: DateTime.UtcNow.AddSeconds(2), cancellationToken: cancellationToken).ConfigureAwait(false));
                }
                catch (RpcException)
                {
                    views.Clear();
                    break;
                }
            }

            if (views.Count > 0 && views.All(v => v.LeaderId != 0 && v.LeaderId == views[0].LeaderId && v.Term == views[0].Term)
                && Agents.FirstOrDefault(a => a.Id == views[0].LeaderId) is { IsRunning: true } leader && leader != not)
            {
                return leader;
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }

        throw new TimeoutException($"no agreed leader within {timeout.TotalSeconds:F0} s:\n{Dump()}");
    }

    /// <summary>The tail of every agent's output.</summary>
    public string Dump() => string.Join("\n", Agents.Select(a => $"--- agent {a.Id} (running: {a.IsRunning}, exit {a.ExitCode}) ---\n{Tail(a.Output)}"));

    private static string Tail(string text) => string.Join("\n", text.Split('\n').TakeLast(40));

    /// <summary>Kills every agent and removes the data.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var agent in Agents)
        {
            await agent.DisposeAsync().ConfigureAwait(false);
        }

        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: it is under the temporary directory.
        }
    }
}
