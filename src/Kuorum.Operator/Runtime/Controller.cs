using System.Diagnostics;

namespace Kuorum.Operator.Runtime;

/// <summary>What a reconcile asks of the controller next.</summary>
/// <param name="RequeueAfter">Reconcile the object again after this long even if nothing changes; null for not.</param>
internal readonly record struct ReconcileResult(TimeSpan? RequeueAfter)
{
    public static ReconcileResult Done => new(null);

    public static ReconcileResult After(TimeSpan delay) => new(delay);
}

/// <summary>Brings one object's world to its spec. Throwing requeues the object with back-off.</summary>
internal interface IReconciler
{
    Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken ct);
}

/// <summary>Workers that take keys from the queue and reconcile them, one worker per key at a time.</summary>
internal sealed partial class Controller
{
    private readonly string _name;
    private readonly IReconciler _reconciler;
    private readonly WorkQueue<ObjectKey> _queue;
    private readonly int _workers;
    private readonly OperatorMetrics _metrics;
    private readonly ILogger _logger;

    public Controller(string name, IReconciler reconciler, WorkQueue<ObjectKey> queue, int workers, OperatorMetrics metrics, ILogger logger)
    {
        _name = name;
        _reconciler = reconciler;
        _queue = queue;
        _workers = workers;
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>Runs the workers until cancelled; returns once every reconcile in flight has finished.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var workers = Enumerable.Range(0, _workers).Select(_ => Task.Run(() => WorkAsync(ct), CancellationToken.None)).ToArray();
        await Task.WhenAll(workers).ConfigureAwait(false);
    }

    private async Task WorkAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            ObjectKey key;
            try
            {
                var (ok, item) = await _queue.GetAsync(ct).ConfigureAwait(false);
                if (!ok)
                {
                    return;
                }

                key = item;
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var started = Stopwatch.GetTimestamp();
            try
            {
                var result = await _reconciler.ReconcileAsync(key, ct).ConfigureAwait(false);
                _queue.Forget(key);
                if (result.RequeueAfter is { } delay)
                {
                    _queue.AddAfter(key, delay);
                }

                _metrics.RecordReconcile(_name, result.RequeueAfter is null ? "success" : "requeue", Stopwatch.GetElapsedTime(started));
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                _metrics.RecordReconcile(_name, "error", Stopwatch.GetElapsedTime(started));
                Log.ReconcileFailed(_logger, _name, key.ToString(), _queue.RateLimiter.Failures(key) + 1, e);
                _queue.AddRateLimited(key);
            }
            finally
            {
                _queue.Done(key);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1200, Level = LogLevel.Warning, Message = "{Controller}: reconcile of {Key} failed (attempt {Attempt}); retrying with back-off")]
        public static partial void ReconcileFailed(ILogger logger, string controller, string key, int attempt, Exception error);
    }
}
