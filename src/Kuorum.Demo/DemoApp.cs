using System.Globalization;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Kuorum.Api.V1;

namespace Kuorum.Demo;

/// <summary>
/// The demo application: a small HTTP service that runs beside one agent. It watches leadership through its sidecar
/// and, while it leads, does the job only a leader may do: it counts, once every 100 ms, in the replicated key
/// <c>demo/counter</c>. Every count is fenced with the leadership's term: the transaction compares <c>demo/term</c>
/// with its own term, so a deposed leader that has not noticed yet cannot count. It serves <c>/healthz</c> (for the
/// agent's probes), <c>/</c> (who it is and whether it leads) and <c>/mode/ok|slow|fail</c>, the demo's fault switch.
/// </summary>
public static class DemoApp
{
    /// <summary>Runs the application until stopped: <c>app --name N --agent http://127.0.0.1:PORT --http-port P</c>.</summary>
    public static async Task<int> RunAsync(string name, string agentAddress, int httpPort)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, httpPort));
        var app = builder.Build();
        using var channel = GrpcChannel.ForAddress(agentAddress);
        var state = new State();
        // The demo's fault switch: /mode/ok, /mode/slow (answers take 60 ms), /mode/fail (health checks answer 500).
        app.MapGet("/healthz", async () =>
        {
            switch (state.Mode)
            {
                case "fail":
                    return Results.Text("failing on purpose\n", statusCode: 500);
                case "slow":
                    await Task.Delay(60).ConfigureAwait(false);
                    break;
            }

            return Results.Text("ok\n");
        });
        app.MapGet("/mode/{mode}", (string mode) =>
        {
            if (mode is not ("ok" or "slow" or "fail"))
            {
                return Results.Text($"mode '{mode}' is unknown; use ok, slow or fail\n", statusCode: 400);
            }

            state.Mode = mode;
            Console.WriteLine($"{name}: mode {mode}");
            return Results.Text($"{name}: {mode}\n");
        });
        app.MapGet("/", () => Results.Text($"{name}: {(state.Term > 0 ? $"leader in term {state.Term}, counted {state.Counted}" : "follower")}\n"));
        await app.StartAsync().ConfigureAwait(false);
        Console.WriteLine($"{name}: serving on 127.0.0.1:{httpPort}, sidecar {agentAddress}");
        await LeadAsync(name, channel, state, app.Lifetime.ApplicationStopping).ConfigureAwait(false);
        await app.StopAsync().ConfigureAwait(false);
        return 0;
    }

    private sealed class State
    {
        public long Term;
        public long Counted;
        public volatile string Mode = "ok";
    }

    private static async Task LeadAsync(string name, GrpcChannel channel, State state, CancellationToken stopping)
    {
        var leadership = new Leadership.LeadershipClient(channel);
        var kv = new KeyValue.KeyValueClient(channel);
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                using var watch = leadership.WatchLeadership(new WatchLeadershipRequest(), cancellationToken: stopping);
                using var leading = new CancellationTokenSource();
                Task? counting = null;
                await foreach (var info in watch.ResponseStream.ReadAllAsync(stopping).ConfigureAwait(false))
                {
                    if (info.IsLocal && state.Term != info.Term)
                    {
                        Console.WriteLine($"{name}: I lead now (term {info.Term}, fencing token)");
                        state.Term = info.Term;
                        counting = CountAsync(name, kv, info.Term, state, stopping);
                    }
                    else if (!info.IsLocal && state.Term != 0)
                    {
                        Console.WriteLine($"{name}: I no longer lead (leader {info.LeaderId}, term {info.Term})");
                        state.Term = 0;
                    }
                }

                if (counting is not null)
                {
                    await counting.ConfigureAwait(false);
                }
            }
            catch (RpcException) when (!stopping.IsCancellationRequested)
            {
                state.Term = 0;
                await Task.Delay(200, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    // Counts while this leadership lasts; each count is fenced by the term.
    private static async Task CountAsync(string name, KeyValue.KeyValueClient kv, long term, State state, CancellationToken stopping)
    {
        var token = ByteString.CopyFromUtf8(term.ToString("D20", CultureInfo.InvariantCulture));
        var termKey = ByteString.CopyFromUtf8("demo/term");
        var counterKey = ByteString.CopyFromUtf8("demo/counter");
        try
        {
            // Claim the fence: only a term newer than the recorded one may.
            var claim = new TxnRequest();
            claim.Compare.Add(new Compare { Key = termKey, Target = Compare.Types.Target.Value, Result = Compare.Types.Result.Less, Value = token });
            claim.Success.Add(new RequestOp { Put = new PutRequest { Key = termKey, Value = token } });
            var missing = new TxnRequest();
            missing.Compare.Add(new Compare { Key = termKey, Target = Compare.Types.Target.Version, Result = Compare.Types.Result.Equal, Version = 0 });
            missing.Success.Add(new RequestOp { Put = new PutRequest { Key = termKey, Value = token } });
            await kv.TxnAsync(missing, cancellationToken: stopping).ConfigureAwait(false);
            await kv.TxnAsync(claim, cancellationToken: stopping).ConfigureAwait(false);

            while (state.Term == term && !stopping.IsCancellationRequested)
            {
                var current = await kv.GetAsync(new GetRequest { Key = counterKey }, cancellationToken: stopping).ConfigureAwait(false);
                var value = current.Kv is null ? 0 : long.Parse(current.Kv.Value.ToStringUtf8(), CultureInfo.InvariantCulture);
                var count = new TxnRequest();
                count.Compare.Add(new Compare { Key = termKey, Target = Compare.Types.Target.Value, Result = Compare.Types.Result.Equal, Value = token });
                count.Compare.Add(new Compare { Key = counterKey, Target = Compare.Types.Target.Mod, Result = Compare.Types.Result.Equal, ModRevision = current.Kv?.ModRevision ?? 0 });
                count.Success.Add(new RequestOp { Put = new PutRequest { Key = counterKey, Value = ByteString.CopyFrom(Encoding.UTF8.GetBytes((value + 1).ToString(CultureInfo.InvariantCulture))) } });
                var result = await kv.TxnAsync(count, cancellationToken: stopping).ConfigureAwait(false);
                if (result.Succeeded)
                {
                    state.Counted++;
                }

                await Task.Delay(100, stopping).ConfigureAwait(false);
            }
        }
        catch (RpcException e)
        {
            Console.WriteLine($"{name}: stopped counting: {e.Status.Detail}");
        }
        catch (OperationCanceledException)
        {
        }
    }
}
