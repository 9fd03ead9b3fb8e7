using System.Text;
using Kuorum.Agent.Health;

namespace Kuorum.Agent.Tests.Health;

/// <summary>The replicated endpoint table's binary form: round trips, determinism, and refusal of damaged input.</summary>
public sealed class EndpointTableTests
{
    private static readonly byte[] _header = [0x4B, 0x45, 0x01];

    private static byte[] V(ulong value)
    {
        var bytes = new List<byte>();
        while (value >= 0x80)
        {
            bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }

        bytes.Add((byte)value);
        return [.. bytes];
    }

    private static byte[] S(string text) => [.. V((ulong)Encoding.UTF8.GetByteCount(text)), .. Encoding.UTF8.GetBytes(text)];

    private static byte[] Entry(ulong id, byte[] address, byte tier, ulong weight, ulong latency) => [.. V(id), .. address, tier, .. V(weight), .. V(latency)];

    private static byte[] Bytes(params byte[][] parts) => [.. parts.SelectMany(p => p)];

    private static readonly byte[] _oneEntry = Entry(1, S("a:1"), 1, 1000, 300);

    private static EndpointTable Sample() => new(5, EndpointStrategies.Weighted,
    [
        new EndpointEntry(1, "a:1", HealthTier.Passing, 1000, 300),
        new EndpointEntry(2, "", HealthTier.Critical, 0, 0),
    ]);

    [Fact]
    public void Encode_IsCompactAndExactlyTheDocumentedLayout()
    {
        Assert.Equal(
            "4B4501" + "05" + "08" + "7765696768746564" + "02" + "01" + "03613A31" + "01" + "E807" + "AC02" + "02" + "00" + "03" + "00" + "00",
            Convert.ToHexString(Sample().Encode()));
    }

    [Fact]
    public void RoundTrip_KeepsEveryField()
    {
        var table = new EndpointTable(long.MaxValue, EndpointStrategies.LeastRequest,
        [
            new EndpointEntry(1, "ノード-1.example:443", HealthTier.Unknown, 0, 0),
            new EndpointEntry(2, "[::1]:8080", HealthTier.Passing, 1000, EndpointTable.MaxLatencyMicros),
            new EndpointEntry(9, "10.0.0.9:80", HealthTier.Warning, 437, 12_345),
            new EndpointEntry(long.MaxValue, new string('x', EndpointTable.MaxAddressBytes), HealthTier.Critical, 1, 1),
        ]);
        var decoded = EndpointTable.Decode(table.Encode());
        Assert.Equal(table, decoded);
        Assert.Equal(table.Entries, decoded.Entries);
        Assert.Equal(table.GetHashCode(), decoded.GetHashCode());
        Assert.Equal(table.Encode(), decoded.Encode());
    }

    [Fact]
    public void RoundTrip_EmptyAndFullTables()
    {
        var empty = new EndpointTable(0, EndpointStrategies.LeaderOnly, []);
        Assert.Equal(empty, EndpointTable.Decode(empty.Encode()));

        var full = new EndpointTable(1, EndpointStrategies.Random,
            [.. Enumerable.Range(1, EndpointTable.MaxEntries).Select(i => new EndpointEntry(i, $"10.0.{i / 256}.{i % 256}:80", HealthTier.Passing, i % 1001, i))]);
        Assert.Equal(full, EndpointTable.Decode(full.Encode()));
    }

    [Fact]
    public void Equality_IsByValue()
    {
        Assert.Equal(Sample(), Sample());
        Assert.NotEqual(Sample(), Sample() with { Version = 6 });
        Assert.NotEqual(Sample(), Sample() with { Entries = [.. Sample().Entries.Select(e => e with { Weight = 1 })] });
        Assert.Equal(new EndpointEntry(2, "", HealthTier.Critical, 0, 0), Sample().Find(2));
        Assert.Null(Sample().Find(3));
    }

    [Fact]
    public void Decode_EveryTruncation_IsRefused()
    {
        var bytes = Sample().Encode();
        for (var length = 0; length < bytes.Length; length++)
        {
            var error = Assert.Throws<FormatException>(() => EndpointTable.Decode(bytes.AsSpan(0, length)));
            Assert.Contains("cut off", error.Message, StringComparison.Ordinal);
        }
    }

    public static TheoryData<string, byte[], string> Damaged => new()
    {
        { "magic", Bytes([0x4B, 0x46, 0x01], V(5), S("weighted"), V(1), _oneEntry), "starts with 0x4B46, not the magic 'KE'" },
        { "format", Bytes([0x4B, 0x45, 0x02], V(5), S("weighted"), V(1), _oneEntry), "format version 2 is not supported" },
        { "trailing", Bytes(_header, V(5), S("weighted"), V(1), _oneEntry, [0]), "1 unexpected bytes after the last of 1 entries" },
        { "tier", Bytes(_header, V(5), S("weighted"), V(1), Entry(1, S("a:1"), 4, 1000, 300)), "entry 1 of 1: tier 4 is not 0..3" },
        { "weight", Bytes(_header, V(5), S("weighted"), V(1), Entry(1, S("a:1"), 1, 1001, 300)), "entry 1 of 1: weight is 1001; at most 1000 is allowed" },
        { "latency", Bytes(_header, V(5), S("weighted"), V(1), Entry(1, S("a:1"), 1, 1, 3_600_000_001)), "entry 1 of 1: latency is 3600000001; at most 3600000000" },
        { "id zero", Bytes(_header, V(5), S("weighted"), V(1), Entry(0, S("a:1"), 1, 1, 1)), "entry 1 of 1: id is 0; ids are 1 or more" },
        { "id order", Bytes(_header, V(5), S("weighted"), V(2), Entry(2, S(""), 1, 1, 1), Entry(2, S(""), 1, 1, 1)), "entry 2 of 2: id 2 does not follow id 2; ids must be strictly ascending" },
        { "missing entry", Bytes(_header, V(5), S("weighted"), V(2), _oneEntry), "entry 2 of 2: id is cut off" },
        { "count", Bytes(_header, V(5), S("weighted"), V(1025)), "entry count is 1025; at most 1024 is allowed" },
        { "long varint", Bytes(_header, [0x85, 0x00], S("weighted"), V(0)), "version is a varint not in its shortest form" },
        { "overflow", Bytes(_header, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02], S("weighted"), V(0)), "version is a varint longer than 64 bits" },
        { "negative version", Bytes(_header, V(ulong.MaxValue), S("weighted"), V(0)), "version is 18446744073709551615; at most 9223372036854775807 is allowed" },
        { "strategy shape", Bytes(_header, V(5), S("Weighted"), V(0)), "strategy 'Weighted' must be 1..32 characters of a-z, 0-9 and '-'" },
        { "strategy empty", Bytes(_header, V(5), S(""), V(0)), "strategy '' must be 1..32" },
        { "strategy length", Bytes(_header, V(5), S(new string('a', 33)), V(0)), "strategy length is 33; at most 32 is allowed" },
        { "address utf-8", Bytes(_header, V(5), S("weighted"), V(1), Entry(1, [0x02, 0xC3, 0x28], 1, 1, 1)), "entry 1 of 1: app address is not valid UTF-8" },
        { "address length", Bytes(_header, V(5), S("weighted"), V(1), V(1), V(1025)), "entry 1 of 1: app address length is 1025; at most 1024 is allowed" },
    };

    [Theory]
    [MemberData(nameof(Damaged))]
    public void Decode_DamagedInput_IsRefusedSayingWhatIsWrong(string damage, byte[] data, string message)
    {
        var error = Assert.Throws<FormatException>(() => EndpointTable.Decode(data));
        Assert.True(error.Message.Contains(message, StringComparison.Ordinal), $"{damage}: {error.Message}");
    }

    [Fact]
    public void Decode_TheUndamagedBaseOfThoseCases_IsAccepted() =>
        Assert.Equal(
            new EndpointTable(5, "weighted", [new EndpointEntry(1, "a:1", HealthTier.Passing, 1000, 300)]),
            EndpointTable.Decode(Bytes(_header, V(5), S("weighted"), V(1), _oneEntry)));

    [Fact]
    public void Decode_AStrategyThisVersionDoesNotKnow_IsKept()
    {
        var table = new EndpointTable(3, "ring-hash", []);
        Assert.False(EndpointStrategies.IsKnown(table.Strategy));
        Assert.Equal("ring-hash", EndpointTable.Decode(table.Encode()).Strategy);
    }

    public static TheoryData<EndpointTable, string> Unencodable => new()
    {
        { Sample() with { Version = -1 }, "version is -1" },
        { Sample() with { Strategy = "Round Robin" }, "strategy 'Round Robin' must be" },
        { Sample() with { Entries = [.. Sample().Entries.Reverse()] }, "entry 2 (id 1) does not follow id 2" },
        { Sample() with { Entries = [new EndpointEntry(1, "a", HealthTier.Passing, 1001, 0)] }, "entry 1 (id 1): weight 1001 is not in 0..1000" },
        { Sample() with { Entries = [new EndpointEntry(1, "a", (HealthTier)7, 1, 0)] }, "entry 1 (id 1): tier 7 is not" },
        { Sample() with { Entries = [new EndpointEntry(1, "a", HealthTier.Passing, 1, -1)] }, "entry 1 (id 1): latency -1 µs" },
        { Sample() with { Entries = [new EndpointEntry(0, "a", HealthTier.Passing, 1, 0)] }, "entry 1 (id 0): ids are 1 or more" },
    };

    [Theory]
    [MemberData(nameof(Unencodable))]
    public void Encode_ATableBreakingTheFormat_IsRefused(EndpointTable table, string message)
    {
        var error = Assert.Throws<InvalidOperationException>(table.Encode);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
