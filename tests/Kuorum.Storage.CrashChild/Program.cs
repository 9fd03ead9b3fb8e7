using Kuorum.Storage.CrashChild;
using Kuorum.Storage.Log;

// Test code for the crash tests: opens the journal in args[0], continues the seeded workload (args[1]) from the
// step the journal recovered to, and prints "durable N" once step N is durable, until it is killed.
// With "kv" first, runs a whole node's storage under a Raft node instead (see KvWorkload.RunAsync).
if (args is ["kv", var node, var kvSeed] && ulong.TryParse(kvSeed, out var nodeSeed))
{
    await KvWorkload.RunAsync(node, nodeSeed);
    return 0;
}

if (args.Length != 2 || !ulong.TryParse(args[1], out var seed))
{
    Console.Error.WriteLine("usage: Kuorum.Storage.CrashChild DIRECTORY SEED | kv DIRECTORY SEED");
    return 2;
}

using var journal = RaftJournal.Open(args[0], new RaftJournalOptions { PageSizeBits = 12, MemorySizeBits = 16, SegmentSizeBits = 20 });
var step = journal.HardState.Commit;
var state = JournalWorkload.After(seed, step);
Console.WriteLine($"open {step}");
while (true)
{
    var next = JournalWorkload.Next(seed, ++step, state);
    await journal.AppendAsync(next.Entries, next.HardState);
    if (next.CompactTo is { } snapshot)
    {
        await journal.CompactAsync(snapshot);
    }

    Console.WriteLine($"durable {step}");
}
