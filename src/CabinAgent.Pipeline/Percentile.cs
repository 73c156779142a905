namespace CabinAgent.Pipeline;

/// <summary>
/// The one percentile rule of the agent's figures — replay summaries, the eval's response times and every benchmark:
/// nearest rank, the smallest value with at least a fraction <c>q</c> of the data at or below it (index
/// <c>⌈q·n⌉ − 1</c>, clamped to the data). It always returns a value that was measured, never one interpolated between
/// two, so a p99 over 100 samples is the 99th smallest and the median of an even count is the lower middle value.
/// </summary>
public static class Percentile
{
    /// <summary>Nearest-rank percentile of values sorted ascending; NaN when there are none.</summary>
    public static double NearestRank(IReadOnlyList<double> sorted, double q)
    {
        if (sorted.Count == 0) return double.NaN;
        var index = (int)Math.Ceiling(q * sorted.Count) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Count - 1)];
    }

    /// <summary>Nearest-rank percentile of values in any order (sorts a copy); NaN when there are none.</summary>
    public static double NearestRank(IEnumerable<double> values, double q)
    {
        var sorted = values.ToArray();
        Array.Sort(sorted);
        return NearestRank(sorted, q);
    }
}
