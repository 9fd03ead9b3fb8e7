using System.Threading.Channels;
using Kuorum.Api.V1;

namespace Kuorum.Client.Tests.Fakes;

/// <summary>The fake sidecar's endpoint table: versions published by tests, streamed to watchers.</summary>
internal sealed class FakeEndpoints
{
    private readonly System.Threading.Lock _gate = new();
    private readonly List<Channel<EndpointTable>> _watchers = [];
    private EndpointTable _current = new() { Version = 1, Strategy = "leader-only" };

    public EndpointTable Current
    {
        get
        {
            lock (_gate)
            {
                return _current.Clone();
            }
        }
    }

    public void Publish(string strategy, params Member[] members)
    {
        lock (_gate)
        {
            var table = new EndpointTable { Version = _current.Version + 1, Strategy = strategy };
            table.Members.Add(members);
            _current = table;
            foreach (var watcher in _watchers)
            {
                watcher.Writer.TryWrite(table.Clone());
            }
        }
    }

    public Channel<EndpointTable> Subscribe()
    {
        var channel = Channel.CreateUnbounded<EndpointTable>();
        lock (_gate)
        {
            channel.Writer.TryWrite(_current.Clone());
            _watchers.Add(channel);
        }

        return channel;
    }

    public void Unsubscribe(Channel<EndpointTable> channel)
    {
        lock (_gate)
        {
            _watchers.Remove(channel);
        }
    }
}
