using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Kuorum.Operator.Runtime;

/// <summary>The operator's metrics (meter <c>Kuorum.Operator</c>), exported on /metrics.</summary>
internal sealed class OperatorMetrics : IDisposable
{
    public const string MeterName = "Kuorum.Operator";

    private readonly Meter _meter;
    private readonly Counter<long> _reconciles;
    private readonly Counter<long> _reconcileErrors;
    private readonly Histogram<double> _reconcileDuration;
    private readonly Counter<long> _relists;
    private readonly Counter<long> _watchRestarts;
    private readonly Counter<long> _watchErrors;
    private readonly Counter<long> _writes;
    private Func<int> _queueDepth = () => 0;
    private volatile bool _leading;

    public OperatorMetrics(IMeterFactory? factory = null)
    {
        _meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        _reconciles = _meter.CreateCounter<long>("kuorum_operator_reconciles", description: "Reconciles by controller and result (success, requeue, error).");
        _reconcileErrors = _meter.CreateCounter<long>("kuorum_operator_reconcile_errors", description: "Reconciles that failed and were requeued with back-off.");
        _reconcileDuration = _meter.CreateHistogram<double>("kuorum_operator_reconcile_duration", unit: "s", description: "Time one reconcile took.");
        _relists = _meter.CreateCounter<long>("kuorum_operator_informer_lists", description: "Full lists by kind and reason (list: start or after an error, expired: after 410 Gone).");
        _watchRestarts = _meter.CreateCounter<long>("kuorum_operator_watch_restarts", description: "Watches resumed after the server closed them.");
        _watchErrors = _meter.CreateCounter<long>("kuorum_operator_watch_errors", description: "Watches or lists that failed.");
        _writes = _meter.CreateCounter<long>("kuorum_operator_object_writes", description: "Objects created or updated by kind and operation.");
        _meter.CreateObservableGauge("kuorum_operator_workqueue_depth", () => _queueDepth(), description: "Items waiting in the work queue.");
        _meter.CreateObservableGauge("kuorum_operator_leader", () => _leading ? 1 : 0, description: "1 while this instance holds the leader-election lease.");
    }

    public void SetQueueDepth(Func<int> depth) => _queueDepth = depth;

    public void SetLeading(bool leading) => _leading = leading;

    public void RecordReconcile(string controller, string result, TimeSpan duration)
    {
        var tags = new TagList { { "controller", controller }, { "result", result } };
        _reconciles.Add(1, tags);
        _reconcileDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("controller", controller));
        if (result == "error")
        {
            _reconcileErrors.Add(1, new KeyValuePair<string, object?>("controller", controller));
        }
    }

    public void RecordRelist(string kind, string reason) =>
        _relists.Add(1, new TagList { { "kind", kind }, { "reason", reason } });

    public void RecordWatchRestart(string kind) => _watchRestarts.Add(1, new KeyValuePair<string, object?>("kind", kind));

    public void RecordWatchError(string kind) => _watchErrors.Add(1, new KeyValuePair<string, object?>("kind", kind));

    public void RecordWrite(string kind, string operation) =>
        _writes.Add(1, new TagList { { "kind", kind }, { "operation", operation } });

    public void Dispose() => _meter.Dispose();
}
