using Kuorum.Client.Internal;

namespace Kuorum.Client;

/// <summary>
/// A request in flight on an endpoint, from <see cref="IEndpointPicker.StartRequest"/>. Dispose it when the request
/// completes (successfully or not); disposing twice counts once.
/// </summary>
public sealed class EndpointLease : IDisposable
{
    private readonly InFlightCounter _counter;
    private int _disposed;

    internal EndpointLease(EndpointInfo endpoint, InFlightCounter counter)
    {
        Endpoint = endpoint;
        _counter = counter;
    }

    /// <summary>The endpoint the request goes to; dial its <see cref="EndpointInfo.AppAddress"/>.</summary>
    public EndpointInfo Endpoint { get; }

    /// <summary>Ends the request: the endpoint has one fewer in flight.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _counter.Decrement();
        }
    }
}
