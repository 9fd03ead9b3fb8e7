using Microsoft.Extensions.Logging.Abstractions;

namespace Kuorum.Agent.Health;

/// <summary>
/// Probes the application every <see cref="ProbeSettings.Period"/> on an injected <see cref="TimeProvider"/>, after the
/// initial delay, and feeds a <see cref="ProbeTracker"/>. <see cref="Current"/> can be read from any thread;
/// <see cref="TierChanged"/> and <see cref="Probed"/> are raised on the probing thread, outside any lock (a handler that
/// throws is logged and does not stop probing). With <see cref="ProbeKind.None"/> nothing is probed and the application
/// is passing.
/// </summary>
public sealed partial class ProbeRunner : IAsyncDisposable
{
    private readonly IProbe? _probe;
    private readonly bool _ownsProbe;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly long _origin;
    private readonly ProbeTracker _tracker;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stopping = new();
    private volatile ProbeStatus _current;
    private Task? _loop;

    /// <summary>A runner of <paramref name="probe"/> (not disposed by the runner); it may be null only for kind none.</summary>
    public ProbeRunner(ProbeSettings settings, IProbe? probe, TimeProvider time, ILogger? logger = null)
        : this(settings, probe, ownsProbe: false, time, logger)
    {
    }

    private ProbeRunner(ProbeSettings settings, IProbe? probe, bool ownsProbe, TimeProvider time, ILogger? logger)
    {
        settings.Validate();
        if (probe is null && settings.Kind != ProbeKind.None)
        {
            throw new ArgumentNullException(nameof(probe), $"a {settings.Kind.ToString().ToLowerInvariant()} probe needs an IProbe");
        }

        Settings = settings;
        _probe = settings.Kind == ProbeKind.None ? null : probe;
        _ownsProbe = ownsProbe;
        _time = time;
        _logger = logger ?? NullLogger.Instance;
        _origin = time.GetTimestamp();
        _tracker = new ProbeTracker(settings, TimeSpan.Zero);
        _current = _tracker.Snapshot();
    }

    /// <summary>A runner with the probe <paramref name="settings"/> describe (HTTP, TCP or gRPC health), which it owns.</summary>
    public static ProbeRunner Create(ProbeSettings settings, TimeProvider time, ILogger? logger = null)
    {
        settings.Validate();
        IProbe? probe = settings.Kind switch
        {
            ProbeKind.Http => new HttpProbe(settings, time),
            ProbeKind.Tcp => new TcpProbe(settings, time),
            ProbeKind.Grpc => new GrpcHealthProbe(settings, time),
            _ => null,
        };
        return new ProbeRunner(settings, probe, ownsProbe: true, time, logger);
    }

    /// <summary>The settings probed with.</summary>
    public ProbeSettings Settings { get; }

    /// <summary>The latest state; times in it are elapsed since the runner was created.</summary>
    public ProbeStatus Current => _current;

    /// <summary>Raised with the new state each time the tier changes.</summary>
    public event EventHandler<ProbeStatus>? TierChanged;

    /// <summary>Raised after every probe with its result (for the probe latency histogram); also before the initial delay ends.</summary>
    public event EventHandler<ProbeResult>? Probed;

    /// <summary>Starts probing in the background until <see cref="DisposeAsync"/>.</summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_stopping.IsCancellationRequested, this);
        if (_loop is not null)
        {
            throw new InvalidOperationException("the probe runner is already started");
        }

        _loop = RunAsync(_stopping.Token);
    }

    /// <summary>Probes until <paramref name="cancellationToken"/> is cancelled: after the initial delay, then every period.</summary>
    /// <returns>A task that completes when cancelled (without throwing), or at once for kind none.</returns>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (_probe is null)
        {
            return;
        }

        try
        {
            if (Settings.InitialDelay > TimeSpan.Zero)
            {
                await Task.Delay(Settings.InitialDelay, _time, cancellationToken).ConfigureAwait(false);
            }

            // Created before the first probe, so a tick that comes while a probe runs is kept, not lost.
            using var timer = new PeriodicTimer(Settings.Period, _time);
            do
            {
                await ProbeOnceAsync(cancellationToken).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Probes once now, counts the result and returns the new state (the current one for kind none).</summary>
    public async Task<ProbeStatus> ProbeOnceAsync(CancellationToken cancellationToken)
    {
        if (_probe is null)
        {
            return _current;
        }

        ProbeResult result;
        try
        {
            result = await _probe.ProbeAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // IProbe promises not to throw; one that does still counts as a failure rather than stopping the probing.
            result = new ProbeResult(false, TimeSpan.Zero, e.GetBaseException().Message);
        }

        bool changed;
        ProbeStatus status;
        lock (_gate)
        {
            changed = _tracker.Record(result, _time.GetElapsedTime(_origin));
            status = _tracker.Snapshot();
            _current = status;
        }

        if (!result.Success)
        {
            Log.ProbeFailed(_logger, Settings.Kind, result.Detail, status.ConsecutiveFailures);
        }

        Raise(Probed, result);
        if (changed)
        {
            Log.TierChanged(_logger, status.Tier, result.Detail, status.LatencyEwma.TotalMilliseconds);
            Raise(TierChanged, status);
        }

        return status;
    }

    /// <summary>Stops probing and waits for the loop to end; disposes the probe when the runner created it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        if (_ownsProbe && _probe is IDisposable disposable)
        {
            disposable.Dispose();
        }

        _stopping.Dispose();
    }

    private void Raise<T>(EventHandler<T>? handler, T value)
    {
        try
        {
            handler?.Invoke(this, value);
        }
        catch (Exception e)
        {
            Log.HandlerFailed(_logger, e);
        }
    }
}
