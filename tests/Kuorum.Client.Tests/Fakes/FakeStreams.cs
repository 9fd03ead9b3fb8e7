using System.Collections.Concurrent;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Kuorum.Client.Tests.Fakes;

/// <summary>The fake's open streaming calls, so that tests can break them as a crashing connection would.</summary>
internal sealed class FakeStreams
{
    private readonly ConcurrentDictionary<Registration, byte> _open = new();

    public IDisposable Track(string method, ServerCallContext context)
    {
        var registration = new Registration(this, method, context.GetHttpContext());
        _open.TryAdd(registration, 0);
        return registration;
    }

    /// <summary>How many streams of <paramref name="method"/> are open now.</summary>
    public int Open(string method) => _open.Keys.Count(r => r.Method == method);

    /// <summary>Resets every open stream (HTTP/2 RST_STREAM): the client sees the call fail mid-stream.</summary>
    public void BreakAll()
    {
        foreach (var registration in _open.Keys)
        {
            registration.HttpContext.Abort();
        }
    }

    private sealed class Registration(FakeStreams owner, string method, HttpContext httpContext) : IDisposable
    {
        public string Method { get; } = method;

        public HttpContext HttpContext { get; } = httpContext;

        public void Dispose() => owner._open.TryRemove(this, out _);
    }
}
