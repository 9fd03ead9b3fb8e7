namespace Kuorum.Client.Internal;

/// <summary>
/// One strategy's choice among the candidates of one table (endpoints with an app address, or READY gRPC
/// subchannels), by index. Built once per table or picker, then used from many threads: <see cref="Choose"/> is
/// thread-safe and allocates nothing.
/// </summary>
/// <remarks>
/// Candidates with weight 0 are never chosen while any candidate has weight &gt; 0. When every weight is 0 (panic)
/// all candidates are chosen as if their weights were equal: a table that ejected everything still serves.
/// </remarks>
internal abstract class Chooser
{
    /// <summary>A chooser that never chooses (calls wait for the next picker).</summary>
    public static Chooser Nothing { get; } = new LeaderChooser(-1);

    /// <summary>The candidate to use, or -1 when there is none.</summary>
    public abstract int Choose();

    /// <param name="strategy">A normalized strategy (<see cref="EndpointStrategies"/>).</param>
    /// <param name="weights">Each candidate's weight (negative counts as 0).</param>
    /// <param name="leader">The index of the leader among the candidates, or -1.</param>
    /// <param name="inFlight">Each candidate's in-flight counter (least-request reads them).</param>
    public static Chooser Create(string strategy, ReadOnlySpan<int> weights, int leader, InFlightCounter[] inFlight) => strategy switch
    {
        EndpointStrategies.LeaderOnly => new LeaderChooser(leader),
        EndpointStrategies.Random => new RandomChooser(Eligible(weights)),
        EndpointStrategies.RoundRobin => new RoundRobinChooser(Eligible(weights)),
        EndpointStrategies.Weighted => new SmoothWeightedChooser(Eligible(weights)),
        EndpointStrategies.LeastRequest => new LeastRequestChooser(Eligible(weights), inFlight),
        _ => throw new ArgumentException($"unknown endpoint strategy '{strategy}'", nameof(strategy)),
    };

    /// <summary>The candidates that may be chosen and their effective weights, the panic rule applied.</summary>
    internal static EligibleSet Eligible(ReadOnlySpan<int> weights)
    {
        var positive = 0;
        foreach (var weight in weights)
        {
            if (weight > 0)
            {
                positive++;
            }
        }

        var panic = positive == 0;
        var indices = new int[panic ? weights.Length : positive];
        var effective = new long[indices.Length];
        var next = 0;
        for (var i = 0; i < weights.Length; i++)
        {
            if (panic || weights[i] > 0)
            {
                indices[next] = i;
                effective[next] = panic ? 1 : weights[i];
                next++;
            }
        }

        return new EligibleSet(indices, effective, panic);
    }

    internal readonly record struct EligibleSet(int[] Indices, long[] Weights, bool Panic);

    private sealed class LeaderChooser(int leader) : Chooser
    {
        public override int Choose() => leader;
    }

    private sealed class RandomChooser(EligibleSet set) : Chooser
    {
        private readonly int[] _indices = set.Indices;

        public override int Choose() => _indices.Length == 0 ? -1 : _indices[System.Random.Shared.Next(_indices.Length)];
    }

    private sealed class RoundRobinChooser(EligibleSet set) : Chooser
    {
        private readonly int[] _indices = set.Indices;

        // A random start, so that clients built at the same moment do not all begin with the same endpoint.
        private int _next = System.Random.Shared.Next();

        public override int Choose()
        {
            var count = (uint)_indices.Length;
            if (count == 0)
            {
                return -1;
            }

            return _indices[(uint)Interlocked.Increment(ref _next) % count];
        }
    }

    /// <summary>
    /// nginx's smooth weighted round-robin: each pick adds every weight to its current value, takes the largest
    /// (the first on a tie) and subtracts the total from it. Over any run of total-weight consecutive picks each
    /// candidate is chosen exactly weight times, spread as evenly as possible.
    /// </summary>
    private sealed class SmoothWeightedChooser : Chooser
    {
        private readonly System.Threading.Lock _gate = new();
        private readonly int[] _indices;
        private readonly long[] _weights;
        private readonly long[] _current;
        private readonly long _total;

        public SmoothWeightedChooser(EligibleSet set)
        {
            _indices = set.Indices;
            _weights = set.Weights;
            _current = new long[_indices.Length];
            foreach (var weight in _weights)
            {
                _total += weight;
            }
        }

        public override int Choose()
        {
            if (_indices.Length == 0)
            {
                return -1;
            }

            int best;
            lock (_gate)
            {
                best = 0;
                _current[0] += _weights[0];
                for (var i = 1; i < _current.Length; i++)
                {
                    _current[i] += _weights[i];
                    if (_current[i] > _current[best])
                    {
                        best = i;
                    }
                }

                _current[best] -= _total;
            }

            return _indices[best];
        }
    }

    /// <summary>
    /// Power of two choices, weighted: two distinct candidates drawn with probability proportional to weight; the
    /// one with the smaller in-flight/weight wins, the first drawn on a tie. With nothing in flight that is the
    /// first draw, so shares follow the weights; under load the less loaded (per unit of weight) is preferred.
    /// </summary>
    private sealed class LeastRequestChooser : Chooser
    {
        private readonly int[] _indices;
        private readonly long[] _weights;
        private readonly long[] _starts;
        private readonly long _total;
        private readonly InFlightCounter[] _inFlight;

        public LeastRequestChooser(EligibleSet set, InFlightCounter[] inFlight)
        {
            _indices = set.Indices;
            _weights = set.Weights;
            _inFlight = inFlight;
            _starts = new long[_weights.Length];
            for (var i = 0; i < _weights.Length; i++)
            {
                _starts[i] = _total;
                _total += _weights[i];
            }
        }

        public override int Choose()
        {
            switch (_indices.Length)
            {
                case 0:
                    return -1;
                case 1:
                    return _indices[0];
            }

            var first = Locate(System.Random.Shared.NextInt64(_total));

            // The second draw skips the first's share of the range, so the two are distinct.
            var offset = System.Random.Shared.NextInt64(_total - _weights[first]);
            if (offset >= _starts[first])
            {
                offset += _weights[first];
            }

            var second = Locate(offset);

            // in-flight(first) / weight(first) against in-flight(second) / weight(second), without dividing.
            var firstLoad = _inFlight[_indices[first]].Count * _weights[second];
            var secondLoad = _inFlight[_indices[second]].Count * _weights[first];
            return _indices[secondLoad < firstLoad ? second : first];
        }

        /// <summary>The candidate whose share of [0, total) holds <paramref name="offset"/>.</summary>
        private int Locate(long offset)
        {
            var found = Array.BinarySearch(_starts, offset);
            if (found >= 0)
            {
                // Starts are strictly increasing (every eligible weight is positive), so this is that candidate.
                return found;
            }

            return ~found - 1;
        }
    }
}
