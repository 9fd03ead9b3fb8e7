using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Kuorum.Operator.Runtime;

/// <summary>What a list or watch call asks for.</summary>
/// <param name="LabelSelector">Label selector, or null for all objects.</param>
/// <param name="ResourceVersion">Resource version to list at or watch from.</param>
/// <param name="Continue">Continue token of a paginated list.</param>
/// <param name="Limit">Page size of a list.</param>
/// <param name="Watch">Whether this is a watch.</param>
/// <param name="TimeoutSeconds">How long the server keeps a watch open.</param>
internal readonly record struct ListRequest(
    string? LabelSelector, string? ResourceVersion, string? Continue, int? Limit, bool Watch, int? TimeoutSeconds);

/// <summary>
/// The calls of one kind on the generated KubernetesClient API. Everything the runtime does to the API server goes
/// through one of these, so the real client (its serialization, errors and watch decoding) is what talks to the server.
/// </summary>
internal interface IResourceKind
{
    string Name { get; }
}

/// <summary>The calls of one kind.</summary>
/// <typeparam name="T">The object type.</typeparam>
/// <typeparam name="TList">The list type.</typeparam>
internal sealed class ResourceKind<T, TList> : IResourceKind
    where T : class, IKubernetesObject<V1ObjectMeta>
    where TList : class, IItems<T>, IMetadata<V1ListMeta>
{
    public required string Name { get; init; }

    /// <summary>List or watch; namespace null means all namespaces.</summary>
    public required Func<IKubernetes, string?, ListRequest, CancellationToken, Task<HttpOperationResponse<TList>>> List { get; init; }

    public required Func<IKubernetes, string, string, CancellationToken, Task<T>> Get { get; init; }

    public required Func<IKubernetes, T, CancellationToken, Task<T>> Create { get; init; }

    public required Func<IKubernetes, T, CancellationToken, Task<T>> Replace { get; init; }

    public required Func<IKubernetes, string, string, CancellationToken, Task> Delete { get; init; }

    public async Task<(IList<T> Items, string ResourceVersion, string? Continue)> ListAsync(
        IKubernetes client, string? ns, ListRequest request, CancellationToken ct)
    {
        using var response = await List(client, ns, request with { Watch = false }, ct).ConfigureAwait(false);
        var body = response.Body;
        return (body.Items ?? [], body.Metadata?.ResourceVersion ?? "", body.Metadata?.ContinueProperty);
    }

    // The generic WatchAsync is marked obsolete in favour of generated per-kind watch methods, but those return
    // untyped objects for custom resources; the generic one decodes every kind the same way, so it is used for all.
#pragma warning disable CS0618
    public IAsyncEnumerable<(WatchEventType, T)> WatchAsync(
        IKubernetes client, string? ns, ListRequest request, Action<Exception> onError, CancellationToken ct) =>
        List(client, ns, request with { Watch = true }, ct).WatchAsync<T, TList>(onError, ct);
#pragma warning restore CS0618
}
