using System.Text;

namespace Kuorum.Agent.Node;

/// <summary>
/// Keys the agent keeps for itself in the replicated store: they start with byte 0, which the public API refuses in
/// keys and hides from ranges. Member addresses live here (so they travel with snapshots), and held locks.
/// </summary>
public static class ReservedKeys
{
    /// <summary>First byte of every reserved key.</summary>
    public const byte Marker = 0;

    /// <summary>Prefix of member address keys: the rest is the member id in decimal.</summary>
    public static readonly byte[] MemberPrefix = Encoding.UTF8.GetBytes("\0kuorum/member/");

    /// <summary>Prefix of lock keys: the rest is the lock's name.</summary>
    public static readonly byte[] LockPrefix = Encoding.UTF8.GetBytes("\0kuorum/lock/");

    /// <summary>The endpoint table the leader publishes (encoded <c>Health.EndpointTable</c>).</summary>
    public static readonly byte[] Endpoints = Encoding.UTF8.GetBytes("\0kuorum/endpoints");

    /// <summary>True for reserved keys.</summary>
    public static bool IsReserved(ReadOnlySpan<byte> key) => !key.IsEmpty && key[0] == Marker;

    /// <summary>The key holding member <paramref name="id"/>'s address.</summary>
    public static byte[] Member(long id) => [.. MemberPrefix, .. Encoding.UTF8.GetBytes(id.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    /// <summary>The key of lock <paramref name="name"/>.</summary>
    public static byte[] Lock(string name) => [.. LockPrefix, .. Encoding.UTF8.GetBytes(name)];
}
