namespace Kuorum.Simulation.Linearizability;

/// <summary>
/// One client operation in a history. Times come from one global logical clock; operation A
/// happens-before operation B iff <c>A.ReturnTime &lt; B.CallTime</c> (equal times overlap).
/// </summary>
/// <param name="ClientId">The client that issued the operation (used only in explanations).</param>
/// <param name="Kind">What the operation does.</param>
/// <param name="Key">The register the operation acts on.</param>
/// <param name="Value">Put: value written; CompareAndSwap: new value; Get: unused (null). Null means "absent".</param>
/// <param name="Expected">CompareAndSwap: expected current value (null = key absent); otherwise unused.</param>
/// <param name="CallTime">When the client issued the operation.</param>
/// <param name="ReturnTime">
/// When the client saw the response, or null if it never did: the operation may then have taken
/// effect at any point after <paramref name="CallTime"/>, or never.
/// </param>
/// <param name="Output">Get: value read (null = absent); otherwise unused.</param>
/// <param name="Succeeded">CompareAndSwap: whether the swap applied. Ignored for Put (a put always applies) and Get.</param>
public sealed record KvOperation(
    int ClientId,
    KvOperationKind Kind,
    string Key,
    string? Value,
    string? Expected,
    long CallTime,
    long? ReturnTime,
    string? Output,
    bool Succeeded)
{
    /// <summary>True when the operation never returned, so its outcome is unknown.</summary>
    public bool IsPending => ReturnTime is null;

    /// <summary>A one-line, human-readable description used in checker explanations.</summary>
    public string Describe()
    {
        var action = Kind switch
        {
            KvOperationKind.Put => $"Put({Quote(Key)}, {Quote(Value)})",
            KvOperationKind.Get => $"Get({Quote(Key)}) -> {(IsPending ? "unknown" : Quote(Output))}",
            KvOperationKind.CompareAndSwap =>
                $"CompareAndSwap({Quote(Key)}, expected {Quote(Expected)}, new {Quote(Value)}) -> "
                + (IsPending ? "unknown" : Succeeded ? "succeeded" : "failed"),
            _ => $"{Kind}({Quote(Key)})",
        };
        var returned = ReturnTime is { } time ? $"return {time}" : "never returned";
        return $"client {ClientId}: {action} [call {CallTime}, {returned}]";
    }

    private static string Quote(string? value) => value is null ? "absent" : $"\"{value}\"";
}
