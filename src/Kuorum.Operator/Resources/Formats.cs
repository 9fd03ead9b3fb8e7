using System.Globalization;
using System.Text.RegularExpressions;

namespace Kuorum.Operator.Resources;

/// <summary>Durations as written in a spec: Go-style sequences such as 100ms, 1s, 1m30s.</summary>
public static partial class Durations
{
    /// <summary>The schema pattern of a duration.</summary>
    public const string Pattern = "^([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h))+$";

    /// <summary>Parses a duration, or returns false when it is not one.</summary>
    /// <param name="text">The duration text.</param>
    /// <param name="value">The parsed duration.</param>
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrEmpty(text) || !Whole().IsMatch(text))
        {
            return false;
        }

        double ticks = 0;
        foreach (Match part in Part().Matches(text))
        {
            var number = double.Parse(part.Groups[1].Value, CultureInfo.InvariantCulture);
            ticks += part.Groups[2].Value switch
            {
                "ns" => number / 100,
                "us" => number * 10,
                "ms" => number * TimeSpan.TicksPerMillisecond,
                "s" => number * TimeSpan.TicksPerSecond,
                "m" => number * TimeSpan.TicksPerMinute,
                _ => number * TimeSpan.TicksPerHour,
            };
        }

        value = TimeSpan.FromTicks((long)ticks);
        return true;
    }

    [GeneratedRegex(Pattern)]
    private static partial Regex Whole();

    [GeneratedRegex("([0-9]+(?:\\.[0-9]+)?)(ns|us|ms|s|m|h)")]
    private static partial Regex Part();
}

/// <summary>Kubernetes quantities.</summary>
public static class Quantities
{
    /// <summary>The schema pattern of a quantity (as in the Kubernetes OpenAPI).</summary>
    public const string Pattern = "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$";
}
