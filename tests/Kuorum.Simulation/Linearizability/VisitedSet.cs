namespace Kuorum.Simulation.Linearizability;

/// <summary>
/// The memo of search configurations already explored: a set of (linearized-operations bitset,
/// register state) pairs. The caller supplies a precomputed hash so membership costs one bucket
/// walk and no allocation; bitsets are copied into one pooled array only when actually added.
/// </summary>
internal sealed class VisitedSet
{
    private const int InitialCapacity = 256;

    private readonly int _words;
    private int[] _buckets;
    private ulong[] _hashes;
    private int[] _states;
    private int[] _chain;
    private ulong[] _bits;
    private int _count;

    public VisitedSet(int words)
    {
        _words = words;
        _buckets = new int[InitialCapacity];
        _hashes = new ulong[InitialCapacity];
        _states = new int[InitialCapacity];
        _chain = new int[InitialCapacity];
        _bits = new ulong[InitialCapacity * words];
    }

    /// <summary>Adds the configuration; returns false if it was already present.</summary>
    public bool TryAdd(ulong hash, int state, ReadOnlySpan<ulong> bits)
    {
        // Bucket slots hold entry index + 1 so that zero means "empty".
        for (var e = _buckets[(int)hash & (_buckets.Length - 1)] - 1; e >= 0; e = _chain[e] - 1)
        {
            if (_hashes[e] == hash && _states[e] == state && bits.SequenceEqual(_bits.AsSpan(e * _words, _words)))
            {
                return false;
            }
        }

        if (_count == _hashes.Length)
        {
            Grow();
        }

        var entry = _count++;
        _hashes[entry] = hash;
        _states[entry] = state;
        bits.CopyTo(_bits.AsSpan(entry * _words, _words));
        Link(entry);
        return true;
    }

    private void Link(int entry)
    {
        var bucket = (int)_hashes[entry] & (_buckets.Length - 1);
        _chain[entry] = _buckets[bucket];
        _buckets[bucket] = entry + 1;
    }

    private void Grow()
    {
        var capacity = _hashes.Length * 2;
        Array.Resize(ref _hashes, capacity);
        Array.Resize(ref _states, capacity);
        Array.Resize(ref _chain, capacity);
        Array.Resize(ref _bits, capacity * _words);
        _buckets = new int[capacity];
        for (var e = 0; e < _count; e++)
        {
            Link(e);
        }
    }
}
