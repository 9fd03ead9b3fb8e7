namespace Kuorum.Operator.Runtime;

/// <summary>
/// When a failed item may be retried: the later of a per-item exponential back-off and a global token bucket, as
/// client-go's default controller rate limiter (5 ms doubling to 1000 s per item; 10 per second, burst 100, overall).
/// </summary>
/// <typeparam name="TKey">The item type.</typeparam>
internal sealed class RateLimiter<TKey>
    where TKey : notnull
{
    private readonly Dictionary<TKey, int> _failures = [];
    private readonly TimeProvider _time;
    private readonly TimeSpan _baseDelay;
    private readonly TimeSpan _maxDelay;
    private readonly double _ratePerSecond;
    private readonly double _burst;
    private readonly Lock _lock = new();
    private double _tokens;
    private long _lastRefill;

    public RateLimiter(TimeProvider time, TimeSpan baseDelay, TimeSpan maxDelay, double ratePerSecond, int burst)
    {
        _time = time;
        _baseDelay = baseDelay;
        _maxDelay = maxDelay;
        _ratePerSecond = ratePerSecond;
        _burst = burst;
        _tokens = burst;
        _lastRefill = time.GetTimestamp();
    }

    public static RateLimiter<TKey> Default(TimeProvider time) =>
        new(time, TimeSpan.FromMilliseconds(5), TimeSpan.FromSeconds(1000), 10, 100);

    /// <summary>The delay before the item's next retry; counts a failure.</summary>
    public TimeSpan When(TKey item)
    {
        lock (_lock)
        {
            var failures = _failures.GetValueOrDefault(item);
            _failures[item] = failures + 1;
            var exponential = _baseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(failures, 40));
            var perItem = TimeSpan.FromMilliseconds(Math.Min(exponential, _maxDelay.TotalMilliseconds));

            var now = _time.GetTimestamp();
            _tokens = Math.Min(_burst, _tokens + (_time.GetElapsedTime(_lastRefill, now).TotalSeconds * _ratePerSecond));
            _lastRefill = now;
            _tokens -= 1;
            var global = _tokens >= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(-_tokens / _ratePerSecond);
            return perItem > global ? perItem : global;
        }
    }

    /// <summary>How many times the item failed since it was last forgotten.</summary>
    public int Failures(TKey item)
    {
        lock (_lock)
        {
            return _failures.GetValueOrDefault(item);
        }
    }

    /// <summary>Resets the item's back-off after a success.</summary>
    public void Forget(TKey item)
    {
        lock (_lock)
        {
            _failures.Remove(item);
        }
    }
}
