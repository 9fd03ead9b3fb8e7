using System.Text;
using Kuorum.Raft;
using Kuorum.Storage.Log;
using Kuorum.Storage.StateMachine;

namespace Kuorum.Storage.CrashChild;

/// <summary>
/// A deterministic workload for the journal and the state machine together: the Raft entry at index <c>i</c> of seed
/// <c>s</c> is a pure function of (s, i), so the crash test can regenerate the command sequence up to any index. The
/// keys come from a small set, so Puts overwrite, Deletes hit live and missing keys, and keys are created again; now
/// and then an entry is a leader no-op. How the writer groups entries into batches and when it checkpoints does not
/// change what an index holds.
/// </summary>
public static class KvWorkload
{
    /// <summary>The membership recorded in a compaction's snapshot metadata.</summary>
    public static readonly Membership Members = new([1]);

    /// <summary>Small FASTER sizes: records spill from memory to disk after a few hundred applies.</summary>
    public static readonly KvStateMachineOptions MachineOptions = new()
    {
        Limits = new KvLimits { MaxKeyBytes = 64, MaxValueBytes = 512 },
        IndexSizeBytes = 1 << 12,
        PageSizeBits = 12,
        MemorySizeBits = 16,
        SegmentSizeBits = 20,
    };

    /// <summary>Small FasterLog sizes, as the journal crash test uses.</summary>
    public static readonly RaftJournalOptions JournalOptions = new() { PageSizeBits = 12, MemorySizeBits = 16, SegmentSizeBits = 20 };

    private const int KeyCount = 24;

    /// <summary>The journal's directory inside the node's.</summary>
    public static string JournalDirectory(string node) => Path.Combine(node, "journal");

    /// <summary>The state machine's directory inside the node's.</summary>
    public static string MachineDirectory(string node) => Path.Combine(node, "kv");

    /// <summary>The entry at <paramref name="index"/>: term 1, a Put, a Delete or (rarely) a no-op.</summary>
    public static Entry EntryAt(ulong seed, long index)
    {
        var random = new SeededRandom((seed * 1_000_003UL) ^ ((ulong)index * 0x9E3779B97F4A7C15UL));
        var roll = random.Next(20);
        if (roll == 0)
        {
            return new Entry(index, 1, EntryType.Normal, ReadOnlyMemory<byte>.Empty);
        }

        var key = Encoding.UTF8.GetBytes($"key/{random.Next(KeyCount):D2}");
        if (roll <= 4)
        {
            return new Entry(index, 1, EntryType.Normal, KvCommand.Delete(key, MachineOptions.Limits).Encode());
        }

        var value = new byte[random.Next(64)];
        for (var b = 0; b < value.Length; b++)
        {
            value[b] = (byte)random.Next(256);
        }

        return new Entry(index, 1, EntryType.Normal, KvCommand.Put(key, value, MachineOptions.Limits).Encode());
    }

    /// <summary>
    /// The recovery procedure: applies the journal's entries after the state machine's applied index. Throws
    /// <see cref="InvalidOperationException"/> when the journal was compacted past the state machine's checkpoint.
    /// </summary>
    public static async Task ReplayAsync(RaftJournal journal, KvStateMachine machine)
    {
        if (machine.AppliedIndex < journal.Snapshot.Index)
        {
            throw new InvalidOperationException(
                $"the journal was compacted up to {journal.Snapshot.Index} but the state machine's checkpoint only reaches {machine.AppliedIndex}: entries {machine.AppliedIndex + 1}..{journal.Snapshot.Index} are lost");
        }

        if (machine.AppliedIndex >= journal.LastIndex)
        {
            return;
        }

        foreach (var entry in await journal.ReadAsync(machine.AppliedIndex + 1, journal.LastIndex))
        {
            machine.Apply(entry);
        }
    }

    /// <summary>
    /// The writer: opens journal and state machine in <paramref name="node"/>, replays, prints "open N", then appends
    /// batches, printing "durable N" once entry N is durable, applies them, and now and then checkpoints the state
    /// machine and (half the time) compacts the journal up to the checkpoint, between "checkpoint N" and
    /// "checkpointed N". Runs until it is killed.
    /// </summary>
    public static async Task RunAsync(string node, ulong seed)
    {
        using var journal = RaftJournal.Open(JournalDirectory(node), JournalOptions);
        using var machine = KvStateMachine.Open(MachineDirectory(node), MachineOptions);
        await ReplayAsync(journal, machine);
        Console.WriteLine($"open {machine.AppliedIndex}");

        // Batch sizes and checkpoints vary from run to run; the entries themselves do not.
        var random = new SeededRandom(seed + (ulong)journal.LastIndex);
        while (true)
        {
            var first = journal.LastIndex + 1;
            var entries = new Entry[1 + random.Next(16)];
            for (var i = 0; i < entries.Length; i++)
            {
                entries[i] = EntryAt(seed, first + i);
            }

            var last = entries[^1].Index;
            await journal.AppendAsync(entries, new HardState(1, 1, last));
            Console.WriteLine($"durable {last}");
            foreach (var entry in entries)
            {
                machine.Apply(entry);
            }

            if (random.Next(6) == 0)
            {
                // Half the time the journal keeps its prefix, so a later replay starts past its first index.
                Console.WriteLine($"checkpoint {machine.AppliedIndex}");
                await machine.CheckpointAsync();
                if (random.Next(2) == 0)
                {
                    await journal.CompactAsync(new SnapshotMetadata(machine.AppliedIndex, 1, Members));
                }

                Console.WriteLine($"checkpointed {machine.AppliedIndex}");
            }
        }
    }
}
