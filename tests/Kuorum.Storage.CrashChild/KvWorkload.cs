using System.Buffers.Binary;
using System.Text;
using Kuorum.Raft;
using Kuorum.Storage.Log;
using Kuorum.Storage.Snapshots;
using Kuorum.Storage.StateMachine;

namespace Kuorum.Storage.CrashChild;

/// <summary>
/// A deterministic workload for a whole node's storage (<see cref="NodeStorage"/>) driven by a real single-voter
/// <see cref="RaftNode"/>: command <c>k</c> of seed <c>s</c> is a pure function of (s, k), a Txn that records k under the
/// key "seq" and puts or deletes one of a few keys. The core decides where commands land in the log (bootstrap and a
/// leader no-op per restart sit between them), so commands are numbered by k, not by index; the state machine says how
/// far the sequence got ("seq"), and the crash test replays commands 1..k into a reference. Keys come from a small set,
/// so Puts overwrite, Deletes hit live and missing keys, and keys are created again.
/// </summary>
public static class KvWorkload
{
    /// <summary>The key holding the number of the last command applied.</summary>
    public static readonly byte[] SequenceKey = Encoding.UTF8.GetBytes("seq");

    /// <summary>
    /// Small FASTER sizes: records spill from memory to disk after a few hundred applies, the log is compacted once it
    /// passes 16 KiB, and segments are 64 KiB so compaction deletes files.
    /// </summary>
    public static readonly KvStateMachineOptions MachineOptions = new()
    {
        Limits = new KvLimits { MaxKeyBytes = 64, MaxValueBytes = 512 },
        IndexSizeBytes = 1 << 12,
        PageSizeBits = 12,
        MemorySizeBits = 16,
        SegmentSizeBits = 16,
        LogCompactionMinBytes = 16 << 10,
    };

    /// <summary>Small FasterLog sizes, as the journal crash test uses.</summary>
    public static readonly RaftJournalOptions JournalOptions = new() { PageSizeBits = 12, MemorySizeBits = 16, SegmentSizeBits = 20 };

    private const int KeyCount = 24;

    /// <summary>The node's storage settings: snapshots every 150 entries (the writer also takes some at random).</summary>
    public static NodeStorageOptions StorageOptions() => new()
    {
        Journal = JournalOptions,
        Machine = MachineOptions,
        Snapshots = new SnapshotPolicy { MaxEntries = 150, MaxBytes = 1L << 30, MaxAge = TimeSpan.FromDays(1) },
    };

    /// <summary>The single voter's settings.</summary>
    public static RaftConfig Config() => new() { Id = 1, Random = new SeededRandom(1) };

    /// <summary>Command <paramref name="k"/> (from 1): records k under <see cref="SequenceKey"/> and puts or deletes a key.</summary>
    public static KvCommand CommandAt(ulong seed, long k)
    {
        var random = new SeededRandom((seed * 1_000_003UL) ^ ((ulong)k * 0x9E3779B97F4A7C15UL));
        var sequence = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(sequence, k);
        var key = Encoding.UTF8.GetBytes($"key/{random.Next(KeyCount):D2}");
        KvOp op;
        if (random.Next(5) == 0)
        {
            op = KvOp.Delete(key);
        }
        else
        {
            var value = new byte[random.Next(64)];
            for (var b = 0; b < value.Length; b++)
            {
                value[b] = (byte)random.Next(256);
            }

            op = KvOp.Put(key, value);
        }

        return KvCommand.Txn([], [KvOp.Put(SequenceKey, sequence), op], [], MachineOptions.Limits);
    }

    /// <summary>The number of the last command the state machine applied (0 before any).</summary>
    public static long SequenceOf(KvStateMachine machine) =>
        machine.Get(SequenceKey) is { } record ? BinaryPrimitives.ReadInt64LittleEndian(record.Value.Span) : 0;

    /// <summary>The command number a log entry carries, or null for a bootstrap entry or a no-op.</summary>
    public static long? SequenceOf(Entry entry)
    {
        if (entry.Type != EntryType.Normal || entry.Data.IsEmpty)
        {
            return null;
        }

        var command = KvCommand.Decode(entry.Data);
        return BinaryPrimitives.ReadInt64LittleEndian(command.Success[0].Value.Span);
    }

    /// <summary>
    /// The agent's loop reduced to its storage obligations: persist each Ready (printing "durable N" once entries up to
    /// N are durable), apply its committed entries, advance.
    /// </summary>
    public static async Task DrainAsync(NodeStorage storage, RaftNode node, bool report)
    {
        while (node.HasReady)
        {
            var ready = node.GetReady();
            await storage.PersistAsync(ready);
            if (report && ready.Entries.Count > 0)
            {
                Console.WriteLine($"durable {ready.Entries[^1].Index}");
            }

            foreach (var entry in ready.CommittedEntries)
            {
                storage.Apply(entry);
            }

            node.Advance(ready);
        }
    }

    /// <summary>
    /// The writer: opens the node's storage in <paramref name="node"/>, starts its Raft node (bootstrapping a fresh
    /// one), campaigns, applies everything in its log, snapshots if due, and prints "open N"; then proposes batches of
    /// commands, and whenever the policy says so (and now and then besides) takes a snapshot between "snapshot N" and
    /// "snapshotted N". Runs until it is killed.
    /// </summary>
    public static async Task RunAsync(string node, ulong seed)
    {
        using var storage = await NodeStorage.OpenAsync(node, StorageOptions());
        var raft = storage.IsFresh ? RaftNode.Bootstrap(Config(), [1]) : new RaftNode(Config(), storage.InitialState);
        raft.Campaign();
        await DrainAsync(storage, raft, report: true);
        if (raft.Role != RaftRole.Leader || raft.AppliedIndex != raft.LastIndex)
        {
            throw new InvalidOperationException($"the single voter is {raft.Role} with {raft.AppliedIndex} of {raft.LastIndex} applied after its campaign");
        }

        // A restart replays (and counts) the entries since the last snapshot, so one is often due at once. It is taken
        // before "open": the first snapshot of a process is slow (JIT), and a writer killed in it every time would
        // never get one done, its journal and replay growing with every kill.
        if (storage.SnapshotDue)
        {
            await SnapshotAsync(storage, raft);
        }

        var k = SequenceOf(storage.Machine);
        Console.WriteLine($"open {storage.Machine.AppliedIndex}");

        // Batch sizes and extra snapshots vary from run to run; the commands themselves do not.
        var random = new SeededRandom(seed + (ulong)raft.LastIndex);
        while (true)
        {
            var batch = 1 + random.Next(16);
            for (var i = 0; i < batch; i++)
            {
                var result = raft.Propose(CommandAt(seed, ++k).Encode());
                if (!result.IsAccepted)
                {
                    throw new InvalidOperationException($"command {k} was refused: {result}");
                }
            }

            await DrainAsync(storage, raft, report: true);
            if (storage.SnapshotDue || random.Next(40) == 0)
            {
                await SnapshotAsync(storage, raft);
            }
        }
    }

    private static async Task SnapshotAsync(NodeStorage storage, RaftNode raft)
    {
        Console.WriteLine($"snapshot {storage.Machine.AppliedIndex}");
        await storage.SnapshotAsync(raft);
        Console.WriteLine($"snapshotted {storage.Machine.AppliedIndex}");
    }
}
