using System.Buffers;
using System.Text;

namespace Kuorum.Agent.Health;

/// <summary>
/// The cluster's endpoint table as the leader replicates it (the value of a reserved key) and every agent serves it.
/// Two tables are equal when their version, strategy and entries (in order) are.
/// </summary>
/// <remarks>
/// <para>Binary form, deterministic (one table, one encoding) and compact. Varints are unsigned LEB128 in their
/// shortest form; strings are a varint byte count then UTF-8.</para>
/// <code>
/// 'K' 'E' 0x01                  magic and format version
/// varint   version              0 or more
/// string   strategy             1..32 bytes of a-z, 0-9 and '-'
/// varint   count                0..1024
/// count × {
///   varint id                   1 or more, strictly ascending
///   string app address          0..1024 bytes
///   byte   tier                 0 unknown, 1 passing, 2 warning, 3 critical
///   varint weight               0..1000
///   varint latency µs           0..3,600,000,000
/// }
/// </code>
/// <para>Nothing may follow. The strategy is checked for shape, not against the known ones, so an agent of an older
/// version still serves a table naming a strategy it does not know.</para>
/// </remarks>
public sealed record EndpointTable(long Version, string Strategy, IReadOnlyList<EndpointEntry> Entries)
{
    /// <summary>Most entries in a table.</summary>
    public const int MaxEntries = 1024;

    /// <summary>Longest application address, in UTF-8 bytes.</summary>
    public const int MaxAddressBytes = 1024;

    /// <summary>Longest strategy name, in bytes.</summary>
    public const int MaxStrategyBytes = 32;

    /// <summary>Largest latency, in microseconds (an hour).</summary>
    public const long MaxLatencyMicros = 3_600_000_000;

    private const byte FormatVersion = 1;
    private static readonly byte[] _magic = "KE"u8.ToArray();
    private static readonly UTF8Encoding _strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The entry of member <paramref name="id"/>, or null.</summary>
    public EndpointEntry? Find(long id)
    {
        foreach (var entry in Entries)
        {
            if (entry.Id == id)
            {
                return entry;
            }
        }

        return null;
    }

    /// <summary>The binary form (see the remarks).</summary>
    /// <exception cref="InvalidOperationException">The table breaks a rule of the format; the message says which.</exception>
    public byte[] Encode()
    {
        if (Check() is { } problem)
        {
            throw new InvalidOperationException("cannot encode the endpoint table: " + problem);
        }

        var writer = new ArrayBufferWriter<byte>(16 + (Entries.Count * 32));
        writer.Write(_magic);
        writer.Write([FormatVersion]);
        WriteVarint(writer, (ulong)Version);
        WriteString(writer, Strategy);
        WriteVarint(writer, (ulong)Entries.Count);
        foreach (var entry in Entries)
        {
            WriteVarint(writer, (ulong)entry.Id);
            WriteString(writer, entry.AppAddress);
            writer.Write([(byte)entry.Tier]);
            WriteVarint(writer, (ulong)entry.Weight);
            WriteVarint(writer, (ulong)entry.LatencyMicros);
        }

        return writer.WrittenSpan.ToArray();
    }

    /// <summary>Reads a table from its binary form, checking every length and value.</summary>
    /// <exception cref="FormatException">The bytes are not a valid table; the message names what is wrong and where.</exception>
    public static EndpointTable Decode(ReadOnlySpan<byte> data)
    {
        var reader = new Reader(data);
        var magic = reader.Bytes(_magic.Length, "magic");
        if (!magic.SequenceEqual(_magic))
        {
            throw new FormatException($"endpoint table: starts with 0x{Convert.ToHexString(magic)}, not the magic 'KE' (0x4B45)");
        }

        var format = reader.Byte("format version");
        if (format != FormatVersion)
        {
            throw new FormatException($"endpoint table: format version {format} is not supported (this agent reads version {FormatVersion})");
        }

        var version = reader.Varint("version", long.MaxValue);
        var strategy = reader.String("strategy", MaxStrategyBytes);
        if (!IsStrategyShaped(strategy))
        {
            throw new FormatException($"endpoint table: strategy '{strategy}' must be 1..{MaxStrategyBytes} characters of a-z, 0-9 and '-'");
        }

        var count = (int)reader.Varint("entry count", MaxEntries);
        var entries = new EndpointEntry[count];
        for (var i = 0; i < count; i++)
        {
            var where = $"entry {i + 1} of {count}";
            var id = (long)reader.Varint($"{where}: id", long.MaxValue);
            if (id < 1)
            {
                throw new FormatException($"endpoint table: {where}: id is 0; ids are 1 or more");
            }

            if (i > 0 && id <= entries[i - 1].Id)
            {
                throw new FormatException($"endpoint table: {where}: id {id} does not follow id {entries[i - 1].Id}; ids must be strictly ascending");
            }

            var address = reader.String($"{where}: app address", MaxAddressBytes);
            var tier = reader.Byte($"{where}: tier");
            if (tier > (byte)HealthTier.Critical)
            {
                throw new FormatException($"endpoint table: {where}: tier {tier} is not 0..3 (unknown, passing, warning, critical)");
            }

            var weight = (int)reader.Varint($"{where}: weight", WeightCalculator.MaxWeight);
            var latency = (long)reader.Varint($"{where}: latency", MaxLatencyMicros);
            entries[i] = new EndpointEntry(id, address, (HealthTier)tier, weight, latency);
        }

        if (reader.Remaining > 0)
        {
            throw new FormatException($"endpoint table: {reader.Remaining} unexpected bytes after the last of {count} entries");
        }

        return new EndpointTable((long)version, strategy, entries);
    }

    /// <inheritdoc />
    public bool Equals(EndpointTable? other) =>
        other is not null && Version == other.Version && Strategy == other.Strategy && Entries.SequenceEqual(other.Entries);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Version);
        hash.Add(Strategy);
        foreach (var entry in Entries)
        {
            hash.Add(entry);
        }

        return hash.ToHashCode();
    }

    private string? Check()
    {
        if (Version < 0)
        {
            return $"version is {Version}; it must be 0 or more";
        }

        if (Strategy is null || !IsStrategyShaped(Strategy))
        {
            return $"strategy '{Strategy}' must be 1..{MaxStrategyBytes} characters of a-z, 0-9 and '-'";
        }

        if (Entries is null || Entries.Count > MaxEntries)
        {
            return $"it has {Entries?.Count} entries; at most {MaxEntries} are allowed";
        }

        for (var i = 0; i < Entries.Count; i++)
        {
            var entry = Entries[i];
            var where = $"entry {i + 1} (id {entry.Id})";
            if (entry.Id < 1)
            {
                return $"{where}: ids are 1 or more";
            }

            if (i > 0 && entry.Id <= Entries[i - 1].Id)
            {
                return $"{where} does not follow id {Entries[i - 1].Id}; entries must be in strictly ascending id order";
            }

            if (entry.AppAddress is null || Encoding.UTF8.GetByteCount(entry.AppAddress) > MaxAddressBytes)
            {
                return $"{where}: the app address must be at most {MaxAddressBytes} UTF-8 bytes";
            }

            if (!Enum.IsDefined(entry.Tier))
            {
                return $"{where}: tier {(int)entry.Tier} is not unknown, passing, warning or critical";
            }

            if (entry.Weight is < 0 or > WeightCalculator.MaxWeight)
            {
                return $"{where}: weight {entry.Weight} is not in 0..{WeightCalculator.MaxWeight}";
            }

            if (entry.LatencyMicros is < 0 or > MaxLatencyMicros)
            {
                return $"{where}: latency {entry.LatencyMicros} µs is not in 0..{MaxLatencyMicros}";
            }
        }

        return null;
    }

    private static bool IsStrategyShaped(string strategy) =>
        strategy.Length is >= 1 and <= MaxStrategyBytes && strategy.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-');

    private static void WriteVarint(ArrayBufferWriter<byte> writer, ulong value)
    {
        var span = writer.GetSpan(10);
        var length = 0;
        while (value >= 0x80)
        {
            span[length++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[length++] = (byte)value;
        writer.Advance(length);
    }

    private static void WriteString(ArrayBufferWriter<byte> writer, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        WriteVarint(writer, (ulong)bytes.Length);
        writer.Write(bytes);
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _position;

        public readonly int Remaining => _data.Length - _position;

        public byte Byte(string what) => Bytes(1, what)[0];

        public ReadOnlySpan<byte> Bytes(int count, string what)
        {
            if (Remaining < count)
            {
                throw new FormatException($"endpoint table: {what} is cut off at byte {_data.Length} ({count} bytes needed at {_position})");
            }

            var bytes = _data.Slice(_position, count);
            _position += count;
            return bytes;
        }

        public ulong Varint(string what, ulong max)
        {
            ulong value = 0;
            for (var i = 0; ; i++)
            {
                var b = Byte(what);
                if (i == 9 && b > 1)
                {
                    throw new FormatException($"endpoint table: {what} is a varint longer than 64 bits");
                }

                value |= (ulong)(b & 0x7F) << (7 * i);
                if ((b & 0x80) == 0)
                {
                    if (i > 0 && b == 0)
                    {
                        throw new FormatException($"endpoint table: {what} is a varint not in its shortest form");
                    }

                    break;
                }
            }

            return value <= max ? value : throw new FormatException($"endpoint table: {what} is {value}; at most {max} is allowed");
        }

        public string String(string what, int maxBytes)
        {
            var length = (int)Varint(what + " length", (ulong)maxBytes);
            var bytes = Bytes(length, what);
            try
            {
                return _strictUtf8.GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
                throw new FormatException($"endpoint table: {what} is not valid UTF-8");
            }
        }
    }
}
