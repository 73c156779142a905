namespace CabinAgent.Evaluation;

/// <summary>One model's measured run, for the quantization impact table.</summary>
public sealed record ModelRun(string Label, long? SizeBytes, EvalReport Report, long? MemoryBytes);

public static class ModelComparisonTable
{
    /// <summary>
    /// Rows relative to the first model (the baseline, usually the least quantized): accuracy drop in percentage points of
    /// action execution accuracy, speed-up as baseline mean latency over this model's.
    /// </summary>
    public static IReadOnlyList<ModelComparison> Build(IReadOnlyList<ModelRun> runs)
    {
        if (runs.Count == 0)
            return [];
        var baseline = runs[0];
        var baseAccuracy = baseline.Report.Execution.Value;
        var baseLatency = MeanLatency(baseline.Report);
        return runs.Select(r =>
        {
            var latency = MeanLatency(r.Report);
            return new ModelComparison(
                r.Label, r.SizeBytes, r.Report.Execution.Value, r.Report.Intent.Value, latency, r.MemoryBytes,
                AccuracyDropPoints: (baseAccuracy - r.Report.Execution.Value) * 100,
                SpeedUp: latency > 0 ? baseLatency / latency : double.NaN,
                RandomWeights: r.Report.Model.RandomWeights);
        }).ToList();
    }

    /// <summary>Mean response time over every case, weighted by the number of cases in each priority class.</summary>
    public static double MeanLatency(EvalReport report) => report.MeanLatencyMs;
}
