using System.Collections.Concurrent;
using Grpc.Core;
using Kuorum.Api.V1;

namespace Kuorum.Client.Tests.Fakes;

/// <summary>
/// Everything the fake sidecar knows, shared by its gRPC services and kept across restarts of the server:
/// store, leadership, endpoints, health, call counts and the faults tests inject.
/// </summary>
internal sealed class FakeCluster
{
    private readonly ConcurrentDictionary<string, int> _calls = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<StatusCode>> _faults = new();

    public FakeCluster(long localId = 1, long leaderId = 1, long term = 1)
    {
        Store = new FakeStore { MemberId = localId, Term = term };
        Leadership = new FakeLeadership(localId, leaderId, term);
    }

    public FakeStore Store { get; }

    public FakeLeadership Leadership { get; }

    public FakeEndpoints Endpoints { get; } = new();

    public FakeStreams Streams { get; } = new();

    /// <summary>What the health service answers; null: NOT_FOUND, as before the agent registers its status.</summary>
    public bool? Serving { get; set; } = true;

    /// <summary>When set, new Watch calls fail with UNAVAILABLE (as while the agent restarts).</summary>
    public bool RejectWatches { get; set; }

    /// <summary>Watches start this many revisions before the one asked for: an agent that redelivers.</summary>
    public long WatchReplayOverlap { get; set; }

    /// <summary>Every Watch request received, in order.</summary>
    public ConcurrentQueue<WatchRequest> WatchRequests { get; } = new();

    /// <summary>How many times <paramref name="method"/> (e.g. "KeyValue.Get") was called.</summary>
    public int Calls(string method) => _calls.TryGetValue(method, out var count) ? count : 0;

    /// <summary>The next <paramref name="times"/> calls of <paramref name="method"/> fail with <paramref name="code"/>.</summary>
    public void Fail(string method, StatusCode code, int times = 1)
    {
        var queue = _faults.GetOrAdd(method, _ => new ConcurrentQueue<StatusCode>());
        for (var i = 0; i < times; i++)
        {
            queue.Enqueue(code);
        }
    }

    /// <summary>Counts a call and throws the fault injected for it, if any.</summary>
    public void Enter(string method)
    {
        _calls.AddOrUpdate(method, 1, (_, count) => count + 1);
        if (_faults.TryGetValue(method, out var queue) && queue.TryDequeue(out var code))
        {
            throw new RpcException(new Status(code, $"fake: injected {code} for {method}"));
        }
    }
}
