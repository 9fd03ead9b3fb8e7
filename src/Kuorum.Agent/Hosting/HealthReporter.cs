using Grpc.Core;
using Kuorum.Agent.Health;
using Kuorum.Agent.Node;
using Kuorum.Raft;
using Wire = Kuorum.Api.Peer.V1;

namespace Kuorum.Agent.Hosting;

/// <summary>
/// Probes the local application and tells the Raft loop (campaigning, hand-over) and the leader (weights) what it
/// found: at once when the tier changes, and every probe period so the leader's reports stay fresh.
/// </summary>
public sealed class HealthReporter : IAsyncDisposable
{
    private readonly RaftHost _host;
    private readonly ProbeRunner _runner;
    private readonly AgentMetrics _metrics;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly AsyncSignal _changed = new();
    private Task _loop = Task.CompletedTask;

    /// <summary>Creates the reporter for the configured probe.</summary>
    public HealthReporter(RaftHost host, AgentMetrics metrics, TimeProvider time, ILogger logger)
    {
        _host = host;
        _metrics = metrics;
        _logger = logger;
        _runner = ProbeRunner.Create(host.Options.Probe, time, logger);
        _runner.TierChanged += (_, _) => _changed.Pulse();
        _runner.Probed += (_, result) => _metrics.ProbeSeconds.Record(result.Latency.TotalSeconds);
    }

    /// <summary>Starts probing and reporting.</summary>
    public void Start()
    {
        _runner.Start();
        _loop = Task.Run(() => ReportLoopAsync(_stop.Token));
    }

    private async Task ReportLoopAsync(CancellationToken token)
    {
        var period = _host.Options.Probe.Period < TimeSpan.FromSeconds(1) ? _host.Options.Probe.Period : TimeSpan.FromSeconds(1);
        while (!token.IsCancellationRequested)
        {
            // A new leader hears from every member at once (an ex-leader never reported its application to anyone).
            var changed = Task.WhenAny(_changed.Next, _host.LeadershipChanged.Next);
            var status = _runner.Current;
            _host.SetLocalHealth(status.Tier, status.LatencyEwma);
            await ReportToLeaderAsync(status, token).ConfigureAwait(false);
            try
            {
                await Task.WhenAny(changed, Task.Delay(period, token)).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task ReportToLeaderAsync(ProbeStatus status, CancellationToken token)
    {
        var view = _host.View;
        if (view.IsLeader || view.LeaderId == RaftNode.None || _host.Transport.ChannelTo(view.LeaderId) is not { } channel)
        {
            return;
        }

        try
        {
            await new Wire.Peer.PeerClient(channel).ReportHealthAsync(new Wire.HealthReport
            {
                MemberId = view.Id,
                Tier = (int)status.Tier,
                LatencyUs = (long)status.LatencyEwma.TotalMicroseconds,
                AppAddress = _host.Options.PublishedAppAddress,
            }, deadline: DateTime.UtcNow.AddSeconds(1), cancellationToken: token).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            _logger.LogDebug("health report to leader {Leader} failed: {Status}", view.LeaderId, e.Status);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        await _runner.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
