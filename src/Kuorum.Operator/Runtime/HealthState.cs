namespace Kuorum.Operator.Runtime;

/// <summary>What /healthz and /readyz report.</summary>
internal sealed class HealthState
{
    private volatile bool _running;
    private volatile bool _leading;
    private volatile bool _synced;
    private volatile string? _fault;

    public bool LeaderElect { get; init; } = true;

    /// <summary>The process works: the leader-election loop (or the controllers) run and did not fail.</summary>
    public bool Healthy => _running && _fault is null;

    /// <summary>A standby is ready once electing; the leader once its caches synced.</summary>
    public bool Ready => Healthy && (_leading ? _synced : LeaderElect);

    public bool Leading => _leading;

    public string? Fault => _fault;

    public void SetRunning(bool running) => _running = running;

    public void SetLeading(bool leading)
    {
        _leading = leading;
        if (!leading)
        {
            _synced = false;
        }
    }

    public void SetSynced(bool synced) => _synced = synced;

    public void SetFault(string? fault) => _fault = fault;
}
