using CabinAgent.Pipeline;

namespace CabinAgent.Pipeline.Tests;

/// <summary>The one percentile rule (nearest rank) that replay, eval and the benchmarks report with.</summary>
public class PercentileTests
{
    private static readonly double[] Four = [10, 20, 30, 40];

    [Theory]
    [InlineData(0.0, 10)]   // ⌈0⌉ − 1 = −1, clamped to the smallest
    [InlineData(0.25, 10)]  // ⌈1⌉ − 1 = 0
    [InlineData(0.26, 20)]  // ⌈1.04⌉ − 1 = 1
    [InlineData(0.50, 20)]  // the lower middle value of an even count, not 25
    [InlineData(0.51, 30)]
    [InlineData(0.95, 40)]
    [InlineData(1.0, 40)]
    public void Nearest_rank_of_four_values(double q, double expected) =>
        Assert.Equal(expected, Percentile.NearestRank(Four, q));

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(0.99)]
    [InlineData(1.0)]
    public void One_value_is_every_percentile(double q) =>
        Assert.Equal(7.5, Percentile.NearestRank(new double[] { 7.5 }, q));

    [Fact]
    public void Ties_give_the_tied_value_never_a_blend()
    {
        double[] sorted = [1, 5, 5, 5, 9];
        Assert.Equal(5, Percentile.NearestRank(sorted, 0.21)); // ⌈1.05⌉ − 1 = 1
        Assert.Equal(5, Percentile.NearestRank(sorted, 0.50)); // ⌈2.5⌉ − 1 = 2
        Assert.Equal(5, Percentile.NearestRank(sorted, 0.79)); // ⌈3.95⌉ − 1 = 3
        Assert.Equal(9, Percentile.NearestRank(sorted, 0.81)); // ⌈4.05⌉ − 1 = 4
    }

    [Fact]
    public void No_values_is_NaN() =>
        Assert.True(double.IsNaN(Percentile.NearestRank(Array.Empty<double>(), 0.5)));

    [Fact]
    public void Unsorted_input_is_sorted_first()
    {
        var values = new List<double> { 40, 10, 30, 20 };
        Assert.Equal(20, Percentile.NearestRank((IEnumerable<double>)values, 0.5));
        Assert.Equal(40, Percentile.NearestRank((IEnumerable<double>)values, 0.99));
        Assert.Equal(new List<double> { 40, 10, 30, 20 }, values); // the caller's list is left as it was
    }

    [Fact]
    public void Latency_summary_uses_the_same_rule()
    {
        var s = LatencySummary.Of(Enumerable.Range(1, 100).Select(i => (double)i).Reverse());
        Assert.Equal((100, 50.0, 95.0, 99.0, 100.0, 50.5), (s.Count, s.P50, s.P95, s.P99, s.Max, s.Mean));
    }
}
