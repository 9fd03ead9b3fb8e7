namespace Kuorum.Operator.Runtime;

/// <summary>
/// A deduplicating work queue with the semantics of client-go's: an item is queued at most once however often it is
/// added; an item being processed is never handed to a second worker, and an add during processing queues it again
/// when <see cref="Done"/> is called. Retries go through the rate limiter.
/// </summary>
/// <typeparam name="TKey">The item type.</typeparam>
internal sealed class WorkQueue<TKey> : IDisposable
    where TKey : notnull
{
    private readonly Queue<TKey> _queue = new();
    private readonly HashSet<TKey> _dirty = [];
    private readonly HashSet<TKey> _processing = [];
    private readonly Dictionary<TKey, ITimer> _waiting = [];
    private readonly Dictionary<TKey, long> _waitingUntil = [];
    private readonly SemaphoreSlim _available = new(0);
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private bool _shutDown;

    public WorkQueue(TimeProvider time, RateLimiter<TKey> rateLimiter)
    {
        _time = time;
        RateLimiter = rateLimiter;
    }

    public RateLimiter<TKey> RateLimiter { get; }

    /// <summary>Items waiting to be processed (not counting those being processed or waiting on a delay).</summary>
    public int Depth
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    public bool IsShutDown
    {
        get
        {
            lock (_lock)
            {
                return _shutDown;
            }
        }
    }

    public void Add(TKey item)
    {
        lock (_lock)
        {
            if (_shutDown || !_dirty.Add(item))
            {
                return;
            }

            if (_processing.Contains(item))
            {
                return;
            }

            _queue.Enqueue(item);
        }

        _available.Release();
    }

    /// <summary>Adds the item after a delay; an earlier pending add of the same item wins.</summary>
    public void AddAfter(TKey item, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            Add(item);
            return;
        }

        lock (_lock)
        {
            if (_shutDown)
            {
                return;
            }

            var due = _time.GetTimestamp() + (long)(delay.TotalSeconds * _time.TimestampFrequency);
            if (_waitingUntil.TryGetValue(item, out var existing) && existing <= due)
            {
                return;
            }

            if (_waiting.Remove(item, out var previous))
            {
                previous.Dispose();
            }

            _waitingUntil[item] = due;
            _waiting[item] = _time.CreateTimer(_ => Fire(item), null, delay, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Adds the item after its rate-limited back-off.</summary>
    public void AddRateLimited(TKey item) => AddAfter(item, RateLimiter.When(item));

    public void Forget(TKey item) => RateLimiter.Forget(item);

    /// <summary>Waits for an item; returns false once the queue is shut down and drained of waiting workers.</summary>
    public async ValueTask<(bool Ok, TKey Item)> GetAsync(CancellationToken ct)
    {
        while (true)
        {
            await _available.WaitAsync(ct).ConfigureAwait(false);
            lock (_lock)
            {
                if (_queue.Count == 0)
                {
                    if (_shutDown)
                    {
                        _available.Release();
                        return (false, default!);
                    }

                    continue;
                }

                var item = _queue.Dequeue();
                _dirty.Remove(item);
                _processing.Add(item);
                return (true, item);
            }
        }
    }

    /// <summary>Marks the item processed; requeues it when it was added meanwhile.</summary>
    public void Done(TKey item)
    {
        var requeue = false;
        lock (_lock)
        {
            _processing.Remove(item);
            if (_dirty.Contains(item) && !_shutDown)
            {
                _queue.Enqueue(item);
                requeue = true;
            }
        }

        if (requeue)
        {
            _available.Release();
        }
    }

    public void ShutDown()
    {
        lock (_lock)
        {
            _shutDown = true;
            foreach (var timer in _waiting.Values)
            {
                timer.Dispose();
            }

            _waiting.Clear();
            _waitingUntil.Clear();
            _queue.Clear();
            _dirty.Clear();
        }

        _available.Release();
    }

    public void Dispose()
    {
        ShutDown();
        _available.Dispose();
    }

    private void Fire(TKey item)
    {
        lock (_lock)
        {
            if (_waiting.Remove(item, out var timer))
            {
                timer.Dispose();
            }

            _waitingUntil.Remove(item);
        }

        Add(item);
    }
}
