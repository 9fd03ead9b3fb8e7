namespace Kuorum.Client.Tests.Support;

/// <summary>Checks observed pick counts against expected shares, with a tolerance derived from the sample size.</summary>
internal static class Distribution
{
    /// <summary>How many standard deviations a count may stray: about one failure in 3.5 million per check.</summary>
    public const double Sigmas = 5;

    /// <summary>
    /// Each key's count must be within <see cref="Sigmas"/> binomial standard deviations (sqrt(n·p·(1−p))) of n·p; a
    /// share of 0 or 1 must be met exactly.
    /// </summary>
    public static void AssertShares<TKey>(IReadOnlyDictionary<TKey, int> counts, IReadOnlyDictionary<TKey, double> shares, int picks)
        where TKey : notnull
    {
        Assert.Equal(picks, counts.Values.Sum());
        foreach (var key in counts.Keys)
        {
            Assert.True(shares.ContainsKey(key), $"{key} was picked {counts[key]} times but has no expected share");
        }

        foreach (var (key, share) in shares)
        {
            var observed = counts.GetValueOrDefault(key);
            var expected = picks * share;
            var tolerance = Sigmas * Math.Sqrt(picks * share * (1 - share));
            Assert.True(
                Math.Abs(observed - expected) <= tolerance,
                $"{key}: {observed} picks of {picks}, expected {expected:F0} ± {tolerance:F0} (share {share:P2})");
        }
    }

    /// <summary>Counts how often each key comes out of <paramref name="pick"/> in <paramref name="picks"/> calls.</summary>
    public static Dictionary<TKey, int> Count<TKey>(int picks, Func<TKey> pick)
        where TKey : notnull
    {
        var counts = new Dictionary<TKey, int>();
        for (var i = 0; i < picks; i++)
        {
            var key = pick();
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }

        return counts;
    }

    /// <summary>Shares proportional to <paramref name="weights"/>.</summary>
    public static Dictionary<TKey, double> Proportional<TKey>(IReadOnlyDictionary<TKey, int> weights)
        where TKey : notnull
    {
        double total = weights.Values.Sum();
        return weights.ToDictionary(w => w.Key, w => w.Value / total);
    }
}
