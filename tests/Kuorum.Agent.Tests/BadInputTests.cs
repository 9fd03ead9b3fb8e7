using System.Net.Sockets;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Kuorum.Agent.Tests.Harness;
using Kuorum.Api.V1;
using Xunit.Abstractions;
using PeerWire = Kuorum.Api.Peer.V1;

namespace Kuorum.Agent.Tests;

/// <summary>
/// Bad input from applications and from the network, against a real agent process: each gets INVALID_ARGUMENT (or
/// the fitting status) with a message saying what is allowed, and the agent keeps serving afterwards.
/// </summary>
[Collection(nameof(ClusterTests))]
public sealed class BadInputTests(ITestOutputHelper output)
{
    private static ByteString B(string s) => ByteString.CopyFromUtf8(s);

    [Fact]
    public async Task BadRequests_AreRefusedWithClearErrors_AndTheAgentKeepsServing()
    {
        await using var cluster = AgentCluster.Start(output, 1, "--max-key-bytes", "64", "--max-value-bytes", "1024", "--max-txn-ops", "4");
        var agent = await cluster.WaitForLeaderAsync();

        async Task Refused(StatusCode code, string mentions, Func<Task> call)
        {
            var error = await Assert.ThrowsAsync<RpcException>(call);
            Assert.Equal(code, error.StatusCode);
            Assert.Contains(mentions, error.Status.Detail, StringComparison.Ordinal);
        }

        await Refused(StatusCode.InvalidArgument, "key is empty; keys are 1..64 bytes", async () => await agent.Kv.PutAsync(new PutRequest { Value = B("v") }));
        await Refused(StatusCode.InvalidArgument, "key is 65 bytes; the limit is 64", async () => await agent.Kv.PutAsync(new PutRequest { Key = B(new string('k', 65)) }));
        await Refused(StatusCode.InvalidArgument, "value is 1025 bytes; the limit is 1024", async () => await agent.Kv.PutAsync(new PutRequest { Key = B("k"), Value = B(new string('v', 1025)) }));
        await Refused(StatusCode.InvalidArgument, "reserved", async () => await agent.Kv.PutAsync(new PutRequest { Key = ByteString.CopyFrom(0, 1, 2) }));
        await Refused(StatusCode.InvalidArgument, "key is empty", async () => await agent.Kv.GetAsync(new GetRequest()));
        await Refused(StatusCode.InvalidArgument, "consistency 7 is unknown", async () => await agent.Kv.GetAsync(new GetRequest { Key = B("k"), Consistency = (Consistency)7 }));
        await Refused(StatusCode.InvalidArgument, "limit is -1", async () => await agent.Kv.RangeAsync(new RangeRequest { Limit = -1 }));
        await Refused(StatusCode.NotFound, "lease 4242 does not exist", async () => await agent.Kv.PutAsync(new PutRequest { Key = B("k"), Value = B("v"), Lease = 4242 }));
        await Refused(StatusCode.NotFound, "lease 4242 does not exist", async () => await agent.Lease.RevokeAsync(new LeaseRevokeRequest { Id = 4242 }));
        await Refused(StatusCode.InvalidArgument, "ttl_ms is 5; it must be 1000..86400000", async () => await agent.Lease.GrantAsync(new LeaseGrantRequest { TtlMs = 5 }));
        await Refused(StatusCode.InvalidArgument, "a lock needs the id of a lease", async () => await agent.Lock.AcquireAsync(new LockRequest { Name = "x" }));
        await Refused(StatusCode.InvalidArgument, "lock names are 1..256 bytes", async () => await agent.Lock.AcquireAsync(new LockRequest { Lease = 1 }));
        await Refused(StatusCode.InvalidArgument, "not a lock key", async () => await agent.Lock.ReleaseAsync(new UnlockRequest { Key = B("k") }));
        await Refused(StatusCode.InvalidArgument, "a transaction operation is empty", async () =>
        {
            var txn = new TxnRequest();
            txn.Success.Add(new RequestOp());
            await agent.Kv.TxnAsync(txn);
        });
        await Refused(StatusCode.InvalidArgument, "the limit is 4", async () =>
        {
            var txn = new TxnRequest();
            for (var i = 0; i < 5; i++)
            {
                txn.Success.Add(new RequestOp { Put = new PutRequest { Key = B($"t{i}"), Value = B("v") } });
            }

            await agent.Kv.TxnAsync(txn);
        });
        await Refused(StatusCode.InvalidArgument, "address is 'nowhere'", async () => await agent.Admin.AddLearnerAsync(new AddLearnerRequest { Id = 9, Address = "nowhere" }));

        // An unknown lease's keep-alive answers TTL 0: the lease is gone.
        using (var keepAlive = agent.Lease.KeepAlive())
        {
            await keepAlive.RequestStream.WriteAsync(new LeaseKeepAliveRequest { Id = 4242 });
            Assert.True(await keepAlive.ResponseStream.MoveNext());
            Assert.Equal(0, keepAlive.ResponseStream.Current.TtlMs);
            await keepAlive.RequestStream.CompleteAsync();
        }

        // A request whose body is not a valid protobuf message.
        var garbage = new Method<byte[], byte[]>(MethodType.Unary, "kuorum.v1.KeyValue", "Put", Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));
        var malformed = await Assert.ThrowsAsync<RpcException>(async () =>
            await agent.Channel.CreateCallInvoker().AsyncUnaryCall(garbage, null, new CallOptions(), [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01]));
        Assert.NotEqual(StatusCode.OK, malformed.StatusCode);

        // The agent still serves.
        await agent.Kv.PutAsync(new PutRequest { Key = B("still"), Value = B("serving") });
        Assert.Equal("serving", (await agent.Kv.GetAsync(new GetRequest { Key = B("still") })).Kv.Value.ToStringUtf8());
        Assert.True(agent.IsRunning);
    }

    [Fact]
    public async Task GarbageOnThePeerPort_IsRefused_AndTheAgentKeepsServing()
    {
        await using var cluster = AgentCluster.Start(output, 1);
        var agent = await cluster.WaitForLeaderAsync();

        // Raw bytes that are not HTTP/2.
        using (var socket = new TcpClient())
        {
            await socket.ConnectAsync("127.0.0.1", agent.PeerPort);
            var stream = socket.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n" + new string('\xff', 4096)));
            var buffer = new byte[1024];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                while (await stream.ReadAsync(buffer, timeout.Token) > 0)
                {
                }
            }
            catch (IOException)
            {
                // The agent closed the connection: what it should do.
            }
        }

        // Well-formed gRPC carrying nonsense Raft messages: an unknown type, a message for another node.
        using var channel = GrpcChannel.ForAddress($"http://{agent.PeerAddress}");
        var peer = new PeerWire.Peer.PeerClient(channel);
        foreach (var (bad, mentions) in new[]
        {
            (new PeerWire.RaftMessage { Type = 99, From = 2, To = 1 }, "message type 99 is unknown"),
            (new PeerWire.RaftMessage { Type = 7, From = 2, To = 5, Term = 1 }, "reached node 1"),
            (new PeerWire.RaftMessage { Type = 5, From = 2, To = 1, Term = 1, Entries = { new PeerWire.Entry { Index = 0, Type = 9 } } }, "types are 0..2"),
        })
        {
            using var call = peer.Raft();
            var batch = new PeerWire.RaftBatch();
            batch.Messages.Add(bad);
            var error = await Assert.ThrowsAsync<RpcException>(async () =>
            {
                await call.RequestStream.WriteAsync(batch);
                await call.RequestStream.CompleteAsync();
                await call;
            });
            Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
            Assert.Contains(mentions, error.Status.Detail, StringComparison.Ordinal);
        }

        // A forwarded proposal that is not a command.
        var refused = await Assert.ThrowsAsync<RpcException>(async () =>
            await peer.ProposeAsync(new PeerWire.ProposeRequest { Command = ByteString.CopyFrom(0xEE, 1, 2) }));
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);

        // The application API is not served on the peer port.
        var wrongDoor = await Assert.ThrowsAsync<RpcException>(async () =>
            await new KeyValue.KeyValueClient(channel).GetAsync(new GetRequest { Key = B("k") }));
        Assert.Equal(StatusCode.Unimplemented, wrongDoor.StatusCode);

        await agent.Kv.PutAsync(new PutRequest { Key = B("still"), Value = B("serving") });
        Assert.Single((await agent.Admin.StatusAsync(new StatusRequest())).Members);
        Assert.True(agent.IsRunning);
    }
}
