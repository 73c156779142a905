namespace CabinAgent.Pipeline;

/// <summary>Percentiles of a set of latencies (<see cref="Percentile.NearestRank(IReadOnlyList{double}, double)"/>), for replay summaries and benchmarks.</summary>
public sealed record LatencySummary(int Count, double P50, double P95, double P99, double Max, double Mean)
{
    public static LatencySummary Of(IEnumerable<double> values)
    {
        var sorted = values.ToArray();
        if (sorted.Length == 0) return new LatencySummary(0, 0, 0, 0, 0, 0);
        Array.Sort(sorted);
        return new LatencySummary(sorted.Length, Percentile.NearestRank(sorted, 0.50), Percentile.NearestRank(sorted, 0.95),
            Percentile.NearestRank(sorted, 0.99), sorted[^1], sorted.Average());
    }
}
