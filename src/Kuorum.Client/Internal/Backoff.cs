namespace Kuorum.Client.Internal;

/// <summary>Doubling delays between retries, from the options' initial delay up to their maximum.</summary>
internal sealed class Backoff
{
    private readonly TimeSpan _initial;
    private readonly TimeSpan _max;
    private TimeSpan _next;

    public Backoff(TimeSpan initial, TimeSpan max)
    {
        _initial = initial;
        _max = max;
        _next = initial;
    }

    public TimeSpan Next()
    {
        var delay = _next;
        _next = _next * 2 > _max ? _max : _next * 2;
        return delay;
    }

    public void Reset() => _next = _initial;
}
