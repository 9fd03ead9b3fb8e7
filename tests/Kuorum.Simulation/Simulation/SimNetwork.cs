using Kuorum.Raft;

namespace Kuorum.Simulation.Simulation;

/// <summary>
/// A deterministic network: messages are delayed (and so reordered), dropped and duplicated at the schedule's
/// rates, and links can be cut one way or both (model: raft-rs's test harness network with cut, isolate, recover).
/// </summary>
public sealed class SimNetwork(SeededRandom random)
{
    private readonly PriorityQueue<Message, (long Time, long Sequence)> _inFlight = new();
    private readonly HashSet<(long From, long To)> _cut = [];
    private long _sequence;

    public double DropRate { get; set; }
    public double DuplicateRate { get; set; }
    public int MaxDelay { get; set; } = 1;
    public long Sent { get; private set; }
    public long Dropped { get; private set; }

    public bool IsPartitioned => _cut.Count > 0;

    public void Send(Message message, long now)
    {
        Sent++;
        if (random.NextDouble() < DropRate)
        {
            Dropped++;
            return;
        }

        Enqueue(message, now);
        if (random.NextDouble() < DuplicateRate)
        {
            Enqueue(message, now);
        }
    }

    private void Enqueue(Message message, long now) =>
        _inFlight.Enqueue(message, (now + 1 + random.Next(MaxDelay), _sequence++));

    /// <summary>Messages due by <paramref name="now"/> whose link is not cut at delivery time.</summary>
    public IEnumerable<Message> Due(long now)
    {
        while (_inFlight.TryPeek(out var message, out var key) && key.Time <= now)
        {
            _inFlight.Dequeue();
            if (_cut.Contains((message.From, message.To)))
            {
                Dropped++;
                continue;
            }

            yield return message;
        }
    }

    public void Cut(long from, long to) => _cut.Add((from, to));

    public void CutBoth(long a, long b)
    {
        Cut(a, b);
        Cut(b, a);
    }

    public void Isolate(long node, IEnumerable<long> all)
    {
        foreach (var other in all.Where(o => o != node))
        {
            CutBoth(node, other);
        }
    }

    public void Heal() => _cut.Clear();

    public string DescribeCuts() => string.Join(" ", _cut.OrderBy(c => c).Select(c => $"{c.From}-x>{c.To}"));
}
