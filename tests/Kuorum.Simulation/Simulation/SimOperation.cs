using Kuorum.Raft;
using Kuorum.Simulation.Linearizability;

namespace Kuorum.Simulation.Simulation;

/// <summary>A client's operation in flight.</summary>
public sealed class SimOperation
{
    public required long Id { get; init; }
    public required int ClientId { get; init; }
    public required KvOperationKind Kind { get; init; }
    public required string Key { get; init; }
    public string? Value { get; init; }
    public string? Expected { get; init; }
    public required long CallTime { get; init; }
    public required long StartTick { get; init; }
    public ReadConsistency Consistency { get; init; }

    /// <summary>The node that accepted the write or read request, once one did.</summary>
    public long Node { get; set; }

    /// <summary>Writes: log index the leader gave the proposal.</summary>
    public long ProposedIndex { get; set; }

    /// <summary>Reads: the read index, once the node answered.</summary>
    public long? ReadIndex { get; set; }

    public bool Accepted => Node != RaftNode.None;

    public bool IsWrite => Kind != KvOperationKind.Get;

    public KvCommand ToCommand() => new(Id, Kind == KvOperationKind.CompareAndSwap, Key, Value!, Expected);

    public KvOperation Complete(long returnTime, string? output, bool succeeded) =>
        new(ClientId, Kind, Key, Value, Expected, CallTime, returnTime, output, succeeded);

    public KvOperation Abandon() => new(ClientId, Kind, Key, Value, Expected, CallTime, null, null, false);

    public override string ToString() => Kind switch
    {
        KvOperationKind.Get => $"op{Id} c{ClientId} get({Key}, {Consistency})",
        KvOperationKind.Put => $"op{Id} c{ClientId} put({Key}={Value})",
        _ => $"op{Id} c{ClientId} cas({Key}: {Expected ?? "absent"} -> {Value})",
    };
}
