using System.Globalization;
using System.Net;

namespace Kuorum.Client.Internal;

/// <summary>Parses a member's app address: <c>host:port</c>, <c>[v6]:port</c>, a bare host, or an http(s) URI.</summary>
internal static class AppAddress
{
    public static bool TryParse(string text, int defaultPort, out DnsEndPoint endPoint)
    {
        endPoint = null!;
        var value = text.Trim();
        if (value.Contains("://", StringComparison.Ordinal))
        {
            if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
            {
                return false;
            }

            endPoint = new DnsEndPoint(uri.Host.Trim('[', ']'), uri.Port < 0 ? defaultPort : uri.Port);
            return true;
        }

        string host;
        var port = defaultPort;
        if (value.StartsWith('['))
        {
            var close = value.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return false;
            }

            host = value[1..close];
            var rest = value[(close + 1)..];
            if (rest.Length > 0 && (!rest.StartsWith(':') || !TryPort(rest[1..], out port)))
            {
                return false;
            }
        }
        else
        {
            var colon = value.LastIndexOf(':');
            if (colon >= 0 && value.IndexOf(':', StringComparison.Ordinal) != colon)
            {
                // Several colons without brackets: a bare IPv6 address.
                host = value;
            }
            else if (colon >= 0)
            {
                host = value[..colon];
                if (!TryPort(value[(colon + 1)..], out port))
                {
                    return false;
                }
            }
            else
            {
                host = value;
            }
        }

        if (host.Length == 0 || host.Any(char.IsWhiteSpace))
        {
            return false;
        }

        endPoint = new DnsEndPoint(host, port);
        return true;
    }

    private static bool TryPort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and <= 65535;
}
