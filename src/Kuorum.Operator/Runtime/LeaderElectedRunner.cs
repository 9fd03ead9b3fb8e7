using k8s;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;

namespace Kuorum.Operator.Runtime;

/// <summary>Work that runs only while this instance leads; a fresh session per term of leadership.</summary>
internal interface ILeaderSession
{
    /// <summary>Runs until cancelled, which happens when leadership is lost or the process stops.</summary>
    Task RunAsync(CancellationToken ct);
}

/// <summary>Settings of leader election.</summary>
internal sealed record LeaderElectionSettings(
    bool Enabled, string Namespace, string LeaseName, string Identity, TimeSpan LeaseDuration, TimeSpan RenewDeadline, TimeSpan RetryPeriod);

/// <summary>
/// Elects one active instance with <c>k8s.LeaderElection</c> and a <c>LeaseLock</c>. While leading it runs a session
/// (informers, queue, workers); on losing the lease it cancels the session, waits until the work in flight has
/// stopped, and campaigns again. On shutdown the leader releases the lease so a standby takes over at once.
/// </summary>
internal sealed partial class LeaderElectedRunner : BackgroundService
{
    private readonly IKubernetes _client;
    private readonly LeaderElectionSettings _settings;
    private readonly Func<ILeaderSession> _sessionFactory;
    private readonly HealthState _health;
    private readonly OperatorMetrics _metrics;
    private readonly ILogger _logger;

    public LeaderElectedRunner(
        IKubernetes client,
        LeaderElectionSettings settings,
        Func<ILeaderSession> sessionFactory,
        HealthState health,
        OperatorMetrics metrics,
        ILogger<LeaderElectedRunner> logger)
    {
        _client = client;
        _settings = settings;
        _sessionFactory = sessionFactory;
        _health = health;
        _metrics = metrics;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _health.SetRunning(true);
        try
        {
            if (!_settings.Enabled)
            {
                SetLeading(true);
                await _sessionFactory().RunAsync(stoppingToken).ConfigureAwait(false);
                return;
            }

            while (!stoppingToken.IsCancellationRequested)
            {
                await LeadOnceAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            _health.SetFault(e.Message);
            Log.Failed(_logger, e);
            throw;
        }
        finally
        {
            SetLeading(false);
        }
    }

    private async Task LeadOnceAsync(CancellationToken stoppingToken)
    {
        var leaseLock = new LeaseLock(_client, _settings.Namespace, _settings.LeaseName, _settings.Identity);
        using var elector = new LeaderElector(new LeaderElectionConfig(leaseLock)
        {
            LeaseDuration = _settings.LeaseDuration,
            RenewDeadline = _settings.RenewDeadline,
            RetryPeriod = _settings.RetryPeriod,
        });

        CancellationTokenSource? termCts = null;
        Task? session = null;
        elector.OnStartedLeading += () =>
        {
            Log.StartedLeading(_logger, _settings.Identity, $"{_settings.Namespace}/{_settings.LeaseName}");
            SetLeading(true);
            termCts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var token = termCts.Token;
            session = Task.Run(() => _sessionFactory().RunAsync(token), CancellationToken.None);
        };
        elector.OnStoppedLeading += () =>
        {
            termCts?.Cancel();
            SetLeading(false);
        };
        elector.OnNewLeader += leader => Log.NewLeader(_logger, leader);
        elector.OnError += e => Log.ElectionError(_logger, e.Message);

        try
        {
            await elector.RunUntilLeadershipLostAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            termCts?.Cancel();
            if (session is not null)
            {
                try
                {
                    await session.ConfigureAwait(false);
                }
                catch (Exception e) when (e is OperationCanceledException || termCts!.IsCancellationRequested)
                {
                    if (e is not OperationCanceledException)
                    {
                        Log.SessionFailed(_logger, e);
                    }
                }

                Log.StoppedLeading(_logger, _settings.Identity);
            }

            SetLeading(false);
            termCts?.Dispose();
        }

        if (session is not null && stoppingToken.IsCancellationRequested)
        {
            await ReleaseAsync(leaseLock).ConfigureAwait(false);
        }
        else if (session is not null)
        {
            // Lost the lease while running: wait one retry period before campaigning again.
            await Task.Delay(_settings.RetryPeriod, stoppingToken).ConfigureAwait(false);
        }
    }

    private async Task ReleaseAsync(LeaseLock leaseLock)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var record = await leaseLock.GetAsync(timeout.Token).ConfigureAwait(false);
            if (record?.HolderIdentity != _settings.Identity)
            {
                return;
            }

            await leaseLock.UpdateAsync(new LeaderElectionRecord
            {
                HolderIdentity = "",
                LeaseDurationSeconds = 1,
                AcquireTime = record.AcquireTime,
                RenewTime = DateTime.UtcNow,
                LeaderTransitions = record.LeaderTransitions,
            }, timeout.Token).ConfigureAwait(false);
            Log.Released(_logger, _settings.Identity);
        }
        catch (Exception e)
        {
            Log.ReleaseFailed(_logger, e.Message);
        }
    }

    private void SetLeading(bool leading)
    {
        _health.SetLeading(leading);
        _metrics.SetLeading(leading);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "{Identity} leads through lease {Lease}; starting controllers")]
        public static partial void StartedLeading(ILogger logger, string identity, string lease);

        [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "{Identity} stopped leading; controllers stopped")]
        public static partial void StoppedLeading(ILogger logger, string identity);

        [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Leader is {Leader}")]
        public static partial void NewLeader(ILogger logger, string leader);

        [LoggerMessage(EventId = 1003, Level = LogLevel.Debug, Message = "Leader election: {Error}")]
        public static partial void ElectionError(ILogger logger, string error);

        [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "{Identity} released the lease")]
        public static partial void Released(ILogger logger, string identity);

        [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "Could not release the lease: {Error}")]
        public static partial void ReleaseFailed(ILogger logger, string error);

        [LoggerMessage(EventId = 1006, Level = LogLevel.Error, Message = "The controllers failed")]
        public static partial void SessionFailed(ILogger logger, Exception error);

        [LoggerMessage(EventId = 1007, Level = LogLevel.Critical, Message = "Leader election failed")]
        public static partial void Failed(ILogger logger, Exception error);
    }
}
