using System.Threading.Channels;
using Kuorum.Api.V1;

namespace Kuorum.Client.Tests.Fakes;

/// <summary>The fake sidecar's view of who leads: set by tests, streamed to watchers.</summary>
internal sealed class FakeLeadership
{
    private readonly System.Threading.Lock _gate = new();
    private readonly List<Channel<LeaderInfo>> _watchers = [];
    private LeaderInfo _current;

    public FakeLeadership(long localId, long leaderId, long term)
    {
        LocalId = localId;
        _current = Info(leaderId, term);
    }

    public long LocalId { get; }

    public LeaderInfo Current
    {
        get
        {
            lock (_gate)
            {
                return _current.Clone();
            }
        }
    }

    /// <summary>Makes <paramref name="leaderId"/> (0: nobody) the leader in <paramref name="term"/>.</summary>
    public void Set(long leaderId, long term)
    {
        lock (_gate)
        {
            _current = Info(leaderId, term);
            foreach (var watcher in _watchers)
            {
                watcher.Writer.TryWrite(_current.Clone());
            }
        }
    }

    /// <summary>The current leadership first, then each change: as WatchLeadership promises.</summary>
    public Channel<LeaderInfo> Subscribe()
    {
        var channel = Channel.CreateUnbounded<LeaderInfo>();
        lock (_gate)
        {
            channel.Writer.TryWrite(_current.Clone());
            _watchers.Add(channel);
        }

        return channel;
    }

    public void Unsubscribe(Channel<LeaderInfo> channel)
    {
        lock (_gate)
        {
            _watchers.Remove(channel);
        }
    }

    private LeaderInfo Info(long leaderId, long term) => new()
    {
        LeaderId = leaderId,
        LeaderAddress = leaderId == 0 ? string.Empty : $"127.0.0.1:{7400 + leaderId}",
        Term = term,
        IsLocal = leaderId != 0 && leaderId == LocalId,
        LocalId = LocalId,
    };
}
