using Kuorum.Storage.Log;
using Kuorum.Storage.Snapshots;
using Kuorum.Storage.StateMachine;

namespace Kuorum.Storage;

/// <summary>Settings of a <see cref="NodeStorage"/>: its journal, its state machine and when it snapshots.</summary>
public sealed class NodeStorageOptions
{
    /// <summary>Sizes of the journal's FasterLog.</summary>
    public RaftJournalOptions Journal { get; init; } = new();

    /// <summary>Limits and FASTER sizes of the key-value state machine.</summary>
    public KvStateMachineOptions Machine { get; init; } = new();

    /// <summary>When <see cref="NodeStorage.SnapshotDue"/> says a snapshot is due: entries, bytes and age thresholds.</summary>
    public SnapshotPolicy Snapshots { get; init; } = new();

    /// <summary>The clock of the snapshot age rule (a fake one in tests).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Throws <see cref="ArgumentException"/> naming a setting out of bounds.</summary>
    public void Validate()
    {
        if (Journal is null || Machine is null || Snapshots is null || Time is null)
        {
            throw new ArgumentException(
                $"node storage settings {nameof(Journal)}, {nameof(Machine)}, {nameof(Snapshots)} and {nameof(Time)} must be set; {(Journal is null ? nameof(Journal) : Machine is null ? nameof(Machine) : Snapshots is null ? nameof(Snapshots) : nameof(Time))} is null");
        }

        Journal.Validate();
        Machine.Validate();
        Snapshots.Validate();
    }
}
