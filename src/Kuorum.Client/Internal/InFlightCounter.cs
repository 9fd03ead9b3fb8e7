using Grpc.Net.Client.Balancer;

namespace Kuorum.Client.Internal;

/// <summary>
/// Requests in flight to one destination. Shared by every table that lists the destination, so requests started
/// under one table version are still counted (and finished) under the next. Also the gRPC call tracker of that
/// destination: the channel calls <see cref="Start"/> and <see cref="Complete"/> around each call it sends there.
/// </summary>
internal sealed class InFlightCounter : ISubchannelCallTracker
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public void Increment() => Interlocked.Increment(ref _count);

    public void Decrement() => Interlocked.Decrement(ref _count);

    public void Start() => Increment();

    public void Complete(CompletionContext context) => Decrement();
}
