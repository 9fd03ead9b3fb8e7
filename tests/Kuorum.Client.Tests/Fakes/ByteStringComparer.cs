using Google.Protobuf;

namespace Kuorum.Client.Tests.Fakes;

/// <summary>Orders keys byte by byte, as the store does.</summary>
internal sealed class ByteStringComparer : IComparer<ByteString>
{
    public static ByteStringComparer Instance { get; } = new();

    public int Compare(ByteString? x, ByteString? y) =>
        (x ?? ByteString.Empty).Span.SequenceCompareTo((y ?? ByteString.Empty).Span);
}
