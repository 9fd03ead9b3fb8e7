using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Kuorum.Operator.Tests.Emulation;

/// <summary>A request the emulation served.</summary>
public sealed record RecordedRequest(string Method, string Path, string Query, string UserAgent, int Status)
{
    public bool IsWrite => Method is "POST" or "PUT" or "PATCH" or "DELETE";
}

/// <summary>
/// An EMULATION of the Kubernetes API server over real HTTP on 127.0.0.1, enough for the real KubernetesClient: the
/// core, apps, policy, rbac, coordination and events kinds plus the ConsensusCluster custom resource; get, list,
/// create, replace, merge patch and delete; the status and scale subresources; watch streams (resumable from a
/// resourceVersion, 410 Gone once the history is compacted); 409 on stale writes; owner-reference garbage
/// collection; and injectable faults. It is not Kubernetes: there is no authentication, admission, schema validation
/// or defaulting, and strategic merge patches are treated as JSON merge patches.
/// </summary>
public sealed class ApiServerEmulation : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly CancellationTokenSource _stopping = new();

    private ApiServerEmulation(WebApplication app, EmulatedStore store)
    {
        _app = app;
        Store = store;
    }

    public EmulatedStore Store { get; }

    public EmulationFaults Faults { get; } = new();

    public Uri BaseUri { get; private set; } = null!;

    public IReadOnlyList<RecordedRequest> Requests => _requests.ToArray();

    /// <summary>A client configuration for this emulation; <paramref name="userAgent"/> tells clients apart in <see cref="Requests"/>.</summary>
    public KubernetesClientConfiguration ClientConfiguration(string userAgent = "test") =>
        new() { Host = BaseUri.ToString().TrimEnd('/'), UserAgent = userAgent };

    /// <summary>Every URL the emulation serves on: 127.0.0.1 first, then one per address passed to <see cref="StartAsync"/>.</summary>
    public IReadOnlyList<Uri> Urls { get; private set; } = [];

    /// <summary>
    /// Starts the emulation on 127.0.0.1 and on each of <paramref name="alsoListenOn"/> (the end-to-end tests add
    /// the node's address on the emulated pod network, so agents in their pod network namespaces reach it).
    /// </summary>
    public static async Task<ApiServerEmulation> StartAsync(params System.Net.IPAddress[] alsoListenOn)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(["http://127.0.0.1:0", .. alsoListenOn.Select(a => $"http://{a}:0")]);
        var store = new EmulatedStore();
        var app = builder.Build();
        var emulation = new ApiServerEmulation(app, store);
        app.Run(emulation.ServeAsync);
        await app.StartAsync();
        emulation.Urls = app.Urls.Select(u => new Uri(u)).OrderBy(u => u.Host == "127.0.0.1" ? 0 : 1).ToList();
        emulation.BaseUri = emulation.Urls[0];
        return emulation;
    }

    /// <summary>The URL the emulation serves on at <paramref name="address"/>.</summary>
    public Uri UrlOn(System.Net.IPAddress address) =>
        Urls.FirstOrDefault(u => u.Host == address.ToString()) ?? throw new InvalidOperationException($"the emulation does not listen on {address}");

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        Store.EndAllWatches();
        using var stopTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stopTimeout.Token);
        await _app.DisposeAsync();
        _stopping.Dispose();
    }

    private async Task ServeAsync(HttpContext ctx)
    {
        var method = ctx.Request.Method;
        var path = ctx.Request.Path.Value ?? "/";
        var status = 200;
        try
        {
            if (Faults.Latency > TimeSpan.Zero)
            {
                await Task.Delay(Faults.Latency, ctx.RequestAborted);
            }

            if (Faults.TakeFailure(method, path) is { } code)
            {
                throw new EmulationException(code, "InternalError", "fault injected by the emulation");
            }

            status = await RouteAsync(ctx, method, path);
        }
        catch (EmulationException e)
        {
            status = e.Code;
            await WriteStatusAsync(ctx, e.Code, e.Reason, e.Message);
        }
        catch (OperationCanceledException)
        {
            status = 499;
        }
        catch (Exception e)
        {
            status = 500;
            await WriteStatusAsync(ctx, 500, "InternalError", "emulation bug: " + e);
        }
        finally
        {
            _requests.Enqueue(new RecordedRequest(method, path, ctx.Request.QueryString.Value ?? "", ctx.Request.Headers.UserAgent.ToString(), status));
        }
    }

    private async Task<int> RouteAsync(HttpContext ctx, string method, string path)
    {
        var segments = path.Trim('/').Split('/');
        string group, version;
        int rest;
        if (segments is ["api", var v, ..])
        {
            (group, version, rest) = ("", v, 2);
        }
        else if (segments is ["apis", var g, var v2, ..])
        {
            (group, version, rest) = (g, v2, 3);
        }
        else
        {
            throw new EmulationException(404, "NotFound", $"the emulation does not serve {path}");
        }

        var tail = segments[rest..];
        string? ns = null;
        if (tail is ["namespaces", var n, _, ..])
        {
            ns = n;
            tail = tail[2..];
        }

        if (tail.Length == 0)
        {
            throw new EmulationException(404, "NotFound", $"the emulation does not serve {path}");
        }

        var resource = EmulatedResources.Find(group, version, tail[0])
                       ?? throw new EmulationException(404, "NotFound", $"the server could not find the requested resource ({group}/{version} {tail[0]})");
        var name = tail.Length > 1 ? tail[1] : null;
        var target = name ?? "";
        var sub = tail.Length > 2 ? tail[2] : null;
        var query = ctx.Request.Query;

        switch (method, name)
        {
            case ("GET", null) when query["watch"] is var w && (w == "true" || w == "1"):
                await WatchAsync(ctx, resource, ns, query);
                return 200;
            case ("GET", null):
                var (items, listVersion) = Store.List(resource, ns, LabelSelector.Parse(query["labelSelector"]));
                await WriteJsonAsync(ctx, 200, new JsonObject
                {
                    ["apiVersion"] = resource.ApiVersion,
                    ["kind"] = resource.Kind + "List",
                    ["metadata"] = new JsonObject { ["resourceVersion"] = listVersion.ToString(CultureInfo.InvariantCulture) },
                    ["items"] = new JsonArray(items.Select(i => (JsonNode)i).ToArray()),
                });
                return 200;
            case ("GET", _):
                var found = Store.Get(resource, ns ?? "", name) ?? throw EmulationException.NotFound(resource, name);
                await WriteJsonAsync(ctx, 200, sub == "scale" ? Scale(resource, found) : found);
                return 200;
            case ("POST", null):
                var created = Store.Create(resource, ns ?? "", await ReadJsonAsync(ctx));
                await WriteJsonAsync(ctx, 201, created);
                return 201;
            case ("PUT", _) when sub == "scale":
                var scale = await ReadJsonAsync(ctx);
                var scaled = Store.Mutate(resource, ns ?? "", target, o => SetReplicas(o, scale), null);
                await WriteJsonAsync(ctx, 200, Scale(resource, scaled));
                return 200;
            case ("PUT", _):
                var replaced = Store.Replace(resource, ns ?? "", target, await ReadJsonAsync(ctx), sub);
                await WriteJsonAsync(ctx, 200, replaced);
                return 200;
            case ("PATCH", _):
                var contentType = ctx.Request.ContentType ?? "";
                if (!contentType.StartsWith("application/merge-patch+json", StringComparison.Ordinal)
                    && !contentType.StartsWith("application/strategic-merge-patch+json", StringComparison.Ordinal))
                {
                    throw new EmulationException(415, "UnsupportedMediaType", $"the emulation supports merge patches only, not {contentType}");
                }

                var patch = await ReadJsonAsync(ctx);
                var patched = sub == "scale"
                    ? Scale(resource, Store.Mutate(resource, ns ?? "", target, o => SetReplicas(o, patch), null))
                    : Store.Mutate(resource, ns ?? "", target, o => (JsonObject)MergePatch(o, patch)!, sub);
                await WriteJsonAsync(ctx, 200, patched);
                return 200;
            case ("DELETE", _):
                var deleted = Store.Delete(resource, ns ?? "", target);
                await WriteJsonAsync(ctx, 200, deleted);
                return 200;
            default:
                throw new EmulationException(405, "MethodNotAllowed", $"{method} {path} is not supported by the emulation");
        }
    }

    private async Task WatchAsync(HttpContext ctx, EmulatedResource resource, string? ns, IQueryCollection query)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, _stopping.Token);
        if (int.TryParse(query["timeoutSeconds"], out var timeoutSeconds) && timeoutSeconds > 0)
        {
            cts.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
        }

        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        ChannelReaderOrGone events;
        try
        {
            events = new ChannelReaderOrGone(Store.Watch(resource, ns, LabelSelector.Parse(query["labelSelector"]), query["resourceVersion"], cts.Token), null);
        }
        catch (EmulationException e) when (e.Code == 410)
        {
            events = new ChannelReaderOrGone(null, e);
        }

        await ctx.Response.StartAsync(cts.Token);
        if (events.Gone is { } gone)
        {
            // As the real API server does: 200, one ERROR event carrying a 410 Status, end of stream.
            await WriteLineAsync(ctx, new JsonObject { ["type"] = "ERROR", ["object"] = StatusBody(410, gone.Reason, gone.Message) }, cts.Token);
            return;
        }

        try
        {
            await foreach (var e in events.Reader!.ReadAllAsync(cts.Token))
            {
                await WriteLineAsync(ctx, new JsonObject { ["type"] = e.Type, ["object"] = e.Object }, cts.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // timeoutSeconds elapsed or the client went away: end the stream normally.
        }
        catch (IOException)
        {
            // The emulation dropped the watch: cut the connection without ending the chunked response.
            ctx.Abort();
        }
    }

    private static async Task WriteLineAsync(HttpContext ctx, JsonObject line, CancellationToken ct)
    {
        await ctx.Response.WriteAsync(line.ToJsonString(Compact) + "\n", ct);
        await ctx.Response.Body.FlushAsync(ct);
    }

    private static JsonObject Scale(EmulatedResource resource, JsonObject obj)
    {
        if (!resource.HasScale)
        {
            throw new EmulationException(404, "NotFound", $"{resource.Plural} has no scale subresource");
        }

        var meta = obj["metadata"]!;
        return new JsonObject
        {
            ["apiVersion"] = "autoscaling/v1",
            ["kind"] = "Scale",
            ["metadata"] = new JsonObject
            {
                ["name"] = meta["name"]?.DeepClone(),
                ["namespace"] = meta["namespace"]?.DeepClone(),
                ["resourceVersion"] = meta["resourceVersion"]?.DeepClone(),
                ["uid"] = meta["uid"]?.DeepClone(),
            },
            ["spec"] = new JsonObject { ["replicas"] = obj["spec"]?["replicas"]?.DeepClone() },
            ["status"] = new JsonObject
            {
                ["replicas"] = obj["status"]?["replicas"]?.DeepClone() ?? 0,
                ["selector"] = obj["status"]?["selector"]?.DeepClone(),
            },
        };
    }

    private static JsonObject SetReplicas(JsonObject obj, JsonObject scale)
    {
        var replicas = scale["spec"]?["replicas"] is { } r ? int.Parse(r.ToJsonString(), CultureInfo.InvariantCulture) : throw new EmulationException(422, "Invalid", "spec.replicas: Required value");
        ((JsonObject)(obj["spec"] ??= new JsonObject()))["replicas"] = replicas;
        return obj;
    }

    /// <summary>RFC 7386 JSON merge patch.</summary>
    internal static JsonNode? MergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        var result = target is JsonObject t ? t.DeepClone().AsObject() : new JsonObject();
        foreach (var (key, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else
            {
                result[key] = MergePatch(result[key], value);
            }
        }

        return result;
    }

    private static async Task<JsonObject> ReadJsonAsync(HttpContext ctx)
    {
        using var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(ctx.RequestAborted);
        return JsonNode.Parse(text) as JsonObject ?? throw new EmulationException(400, "BadRequest", "the body is not a JSON object");
    }

    private static Task WriteJsonAsync(HttpContext ctx, int status, JsonObject body)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        return ctx.Response.WriteAsync(body.ToJsonString(Compact), ctx.RequestAborted);
    }

    private static Task WriteStatusAsync(HttpContext ctx, int code, string reason, string message)
    {
        if (ctx.Response.HasStarted)
        {
            ctx.Abort();
            return Task.CompletedTask;
        }

        return WriteJsonAsync(ctx, code, StatusBody(code, reason, message));
    }

    private static JsonObject StatusBody(int code, string reason, string message) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = code,
    };

    private sealed record ChannelReaderOrGone(System.Threading.Channels.ChannelReader<StoredEvent>? Reader, EmulationException? Gone);
}
