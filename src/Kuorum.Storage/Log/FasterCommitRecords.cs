using System.Buffers.Binary;

namespace Kuorum.Storage.Log;

/// <summary>
/// FasterLog 2.x's commit records (<c>log-commits/commit.N.0</c>), read directly so the journal can check them
/// before FasterLog parses them and after it recovered. Version-1 layout: [length][version][checksum][begin]
/// [until][commit number][iterator count][cookie length][cookie].
/// </summary>
internal static class FasterCommitRecords
{
    private const int HeaderBytes = 48;

    /// <summary>The commit records that were written (not all zeroes, as a crash while creating one leaves it), newest first.</summary>
    public static List<(string File, byte[] Bytes)> ReadWritten(string commitDirectory)
    {
        var records = new List<(string File, long Number, byte[] Bytes)>();
        if (!Directory.Exists(commitDirectory))
        {
            return [];
        }

        foreach (var file in Directory.GetFiles(commitDirectory))
        {
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(file);
            }
            catch (FileNotFoundException)
            {
                // FasterLog removed an outdated record meanwhile.
                continue;
            }

            if (bytes.Any(b => b != 0))
            {
                var number = long.TryParse(Path.GetFileName(file).Split('.').ElementAtOrDefault(1), out var n) ? n : -1;
                records.Add((file, number, bytes));
            }
        }

        return [.. records.OrderByDescending(r => r.Number).Select(r => (r.File, r.Bytes))];
    }

    /// <summary>
    /// Where a record departs from the layout FasterLog writes, or null. FasterLog checksums the cookie over the
    /// length the record states, with unsafe code: a flipped length would make it read outside the record.
    /// </summary>
    public static (int Offset, string Expected)? FindLayoutError(byte[] record)
    {
        if (record.Length < HeaderBytes)
        {
            return (0, $"a commit record of at least {HeaderBytes} bytes, found {record.Length}");
        }

        var span = record.AsSpan();
        var length = BinaryPrimitives.ReadInt32LittleEndian(span);
        if (length < HeaderBytes - 4 || length > record.Length - 4)
        {
            return (0, $"a commit record length in {HeaderBytes - 4}..{record.Length - 4}, found {length}");
        }

        var version = BinaryPrimitives.ReadInt32LittleEndian(span[4..]);
        if (version != 1)
        {
            return (4, $"commit record version 1, found {version}");
        }

        var iterators = BinaryPrimitives.ReadInt32LittleEndian(span[40..]);
        if (iterators != 0)
        {
            return (40, $"no persisted iterators, found {iterators}");
        }

        var cookie = BinaryPrimitives.ReadInt32LittleEndian(span[44..]);
        return cookie < -1 || cookie > record.Length - HeaderBytes
            ? (44, $"a cookie length in -1..{record.Length - HeaderBytes}, found {cookie}")
            : null;
    }

    /// <summary>The begin and until addresses a record commits.</summary>
    public static (long Begin, long Until) Addresses(byte[] record) =>
        (BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(16)), BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(24)));
}
