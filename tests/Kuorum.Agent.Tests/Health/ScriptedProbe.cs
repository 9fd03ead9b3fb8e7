using Kuorum.Agent.Health;

namespace Kuorum.Agent.Tests.Health;

/// <summary>A probe that answers from a script (then repeats its last answer) and counts its calls.</summary>
internal sealed class ScriptedProbe(params ProbeResult[] script) : IProbe
{
    private readonly Lock _gate = new();
    private readonly Queue<ProbeResult> _script = new(script);
    private ProbeResult _last = new(true, TimeSpan.FromMilliseconds(1), "ok");
    private int _calls;

    public static ProbeResult Good { get; } = new(true, TimeSpan.FromMilliseconds(1), "ok");

    public static ProbeResult Bad { get; } = new(false, TimeSpan.FromMilliseconds(1), "HTTP 503");

    public int Calls => Volatile.Read(ref _calls);

    public Task<ProbeResult> ProbeAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _calls++;
            if (_script.TryDequeue(out var next))
            {
                _last = next;
            }

            return Task.FromResult(_last);
        }
    }
}
