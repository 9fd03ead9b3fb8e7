using System.Text;
using Kuorum.Raft;
using Kuorum.Storage.StateMachine;

namespace Kuorum.Storage.Tests.Node;

/// <summary>
/// A Raft node over a <see cref="NodeStorage"/>, driven by hand as the agent's loop would: persist each Ready, hand
/// its messages out, apply its committed entries, advance. Messages between nodes are delivered by <see cref="PumpAsync"/>.
/// </summary>
internal sealed class StoredNode : IDisposable
{
    private StoredNode(string directory, NodeStorageOptions options, RaftConfig config, NodeStorage storage, RaftNode node)
    {
        Directory = directory;
        Options = options;
        Config = config;
        Storage = storage;
        Node = node;
    }

    public string Directory { get; }

    public NodeStorageOptions Options { get; }

    public RaftConfig Config { get; }

    public NodeStorage Storage { get; private set; }

    public RaftNode Node { get; private set; }

    public KvStateMachine Machine => Storage.Machine;

    /// <summary>Every committed entry applied since the start, with its result.</summary>
    public List<(Entry Entry, ApplyResult Result)> Applied { get; } = [];

    public static RaftConfig ConfigFor(long id, int snapshotChunkBytes = 1 << 20) =>
        new() { Id = id, Random = new SeededRandom((ulong)id), SnapshotChunkBytes = snapshotChunkBytes };

    /// <summary>Opens the storage; a fresh one bootstraps <paramref name="bootstrap"/> when given, else starts empty (to join).</summary>
    public static async Task<StoredNode> StartAsync(string directory, NodeStorageOptions options, RaftConfig config, IReadOnlyCollection<long>? bootstrap = null)
    {
        var storage = await NodeStorage.OpenAsync(directory, options);
        var node = storage.IsFresh && bootstrap is not null ? RaftNode.Bootstrap(config, bootstrap) : new RaftNode(config, storage.InitialState);
        return new StoredNode(directory, options, config, storage, node);
    }

    /// <summary>A single-voter cluster's node, campaigned and quiet.</summary>
    public static async Task<StoredNode> StartLeaderAsync(string directory, NodeStorageOptions options, RaftConfig? config = null)
    {
        var node = await StartAsync(directory, options, config ?? ConfigFor(1), [1]);
        node.Node.Campaign();
        await node.DrainAsync();
        Assert.Equal(RaftRole.Leader, node.Node.Role);
        return node;
    }

    /// <summary>Closes the storage and opens it again with a new node, as a restart does; the new node is not ticked.</summary>
    public async Task RestartAsync()
    {
        Storage.Dispose();
        Storage = await NodeStorage.OpenAsync(Directory, Options);
        Node = new RaftNode(Config, Storage.InitialState);
    }

    /// <summary>Handles every Ready until there is none; returns the messages they carried.</summary>
    public async Task<List<Message>> DrainAsync()
    {
        var outbox = new List<Message>();
        while (Node.HasReady)
        {
            var ready = Node.GetReady();
            outbox.AddRange(ready.ImmediateMessages);
            await Storage.PersistAsync(ready);
            outbox.AddRange(ready.Messages);
            foreach (var entry in ready.CommittedEntries)
            {
                Applied.Add((entry, Storage.Apply(entry)));
            }

            Node.Advance(ready);
        }

        return outbox;
    }

    /// <summary>Proposes commands on this (leader) node and drains until they are applied.</summary>
    public async Task ProposeAsync(params KvCommand[] commands)
    {
        foreach (var command in commands)
        {
            var result = Node.Propose(command.Encode());
            Assert.True(result.IsAccepted, result.ToString());
        }

        await DrainAsync();
    }

    /// <summary>Processes Readies and delivers messages between <paramref name="nodes"/> until nothing moves.</summary>
    public static async Task PumpAsync(params StoredNode[] nodes)
    {
        var wire = new Queue<Message>();
        do
        {
            foreach (var node in nodes)
            {
                foreach (var message in await node.DrainAsync())
                {
                    wire.Enqueue(message);
                }
            }

            while (wire.TryDequeue(out var message))
            {
                nodes.Single(n => n.Node.Id == message.To).Node.Step(message);
            }
        }
        while (nodes.Any(n => n.Node.HasReady));
    }

    public static byte[] B(string text) => Encoding.UTF8.GetBytes(text);

    public static KvCommand Put(string key, string value) => KvCommand.Put(B(key), B(value));

    public void Dispose() => Storage.Dispose();
}
