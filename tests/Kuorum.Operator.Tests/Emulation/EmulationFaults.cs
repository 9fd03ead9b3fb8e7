namespace Kuorum.Operator.Tests.Emulation;

/// <summary>Faults the API server emulation injects on demand.</summary>
public sealed class EmulationFaults
{
    private readonly Lock _lock = new();
    private int _failuresLeft;
    private int _failureCode = 500;
    private Func<string, string, bool> _failureMatch = (_, _) => true;

    /// <summary>Added to every request before it is served.</summary>
    public TimeSpan Latency { get; set; }

    /// <summary>The next <paramref name="count"/> requests that match (method, path) fail with <paramref name="code"/>.</summary>
    public void FailNext(int count, int code = 500, Func<string, string, bool>? match = null)
    {
        lock (_lock)
        {
            _failuresLeft = count;
            _failureCode = code;
            _failureMatch = match ?? ((_, _) => true);
        }
    }

    internal int? TakeFailure(string method, string path)
    {
        lock (_lock)
        {
            if (_failuresLeft <= 0 || !_failureMatch(method, path))
            {
                return null;
            }

            _failuresLeft--;
            return _failureCode;
        }
    }
}
