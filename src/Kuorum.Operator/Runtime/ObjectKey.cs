using k8s;
using k8s.Models;

namespace Kuorum.Operator.Runtime;

/// <summary>Namespace and name of an object: the unit of work of a controller.</summary>
/// <param name="Namespace">The namespace ("" for cluster-scoped objects).</param>
/// <param name="Name">The name.</param>
public readonly record struct ObjectKey(string Namespace, string Name)
{
    /// <summary>The key of an object.</summary>
    /// <param name="obj">The object.</param>
    public static ObjectKey Of(IKubernetesObject<V1ObjectMeta> obj) => new(obj.Metadata.NamespaceProperty ?? "", obj.Metadata.Name);

    /// <inheritdoc/>
    public override string ToString() => Namespace.Length == 0 ? Name : $"{Namespace}/{Name}";
}
