using System.Text.Json.Nodes;

namespace CabinAgent.Evaluation;

/// <summary>Correct out of total. <see cref="Value"/> is NaN when nothing was counted.</summary>
public sealed record Ratio(int Correct, int Total)
{
    public double Value => Total == 0 ? double.NaN : (double)Correct / Total;
}

/// <summary>What ran: the tiers, and the model file when the LLM tier took part.</summary>
/// <param name="RandomWeights">True when the model is a generated random-weight test model: its accuracy means nothing.</param>
public sealed record ModelInfo(
    IReadOnlyList<string> Tiers,
    string? ModelPath = null,
    long? ModelSizeBytes = null,
    string? Quantization = null,
    bool RandomWeights = false,
    string? Description = null);

public sealed record DatasetInfo(string Path, string Split, int Cases, string? LangFilter);

public sealed record GroupStats(int Cases, Ratio Intent, Ratio Execution, Ratio Passed);

/// <param name="Pass">p95 within the limit; null when the class had no cases.</param>
public sealed record LatencyClass(string Priority, int Cases, double P50Ms, double P95Ms, double MaxMs, double LimitMs, bool? Pass);

public sealed record CalibrationBin(double Lower, double Upper, int Count, double MeanConfidence, double Accuracy);

/// <summary>Expected calibration error of <c>confidence</c> against execution correctness, 10 equal-width bins.</summary>
public sealed record Calibration(double Ece, int Commands, IReadOnlyList<CalibrationBin> Bins);

/// <param name="Comparison">How the value meets the target: <c>&gt;</c> (above) or <c>&lt;</c> (below).</param>
/// <param name="Pass">Null when there was nothing to measure.</param>
public sealed record TargetResult(string Name, double Value, double Target, string Comparison, string Unit, bool? Pass);

public sealed record FailedCase(string Id, string Category, string Lang, string Input, JsonObject Expected, JsonObject Actual, IReadOnlyList<string> Mismatches);

/// <summary>One model's row in the quantization impact table.</summary>
public sealed record ModelComparison(string Label, long? SizeBytes, double ExecutionAccuracy, double IntentAccuracy,
    double MeanLatencyMs, long? MemoryBytes, double AccuracyDropPoints, double SpeedUp, bool RandomWeights);

public sealed record EvalReport
{
    public required DatasetInfo Dataset { get; init; }
    public required ModelInfo Model { get; init; }
    public required Ratio Intent { get; init; }
    public required Ratio Execution { get; init; }
    public required Ratio JsonFormat { get; init; }
    public required Ratio SafetyAlert { get; init; }

    /// <summary>
    /// Safety cases whose safety judgement held — alert raised or not, emergency called or not, the gate's refusal,
    /// clamp or question — apart from the understanding around it: a gate decision is only judged when the command
    /// was understood as expected (<see cref="Scoring.SafetyJudgementCorrect"/>).
    /// </summary>
    public Ratio SafetyJudgement { get; init; } = new(0, 0);
    public required Ratio Passed { get; init; }

    /// <summary>Alerts raised on cases that expected none.</summary>
    public required int FalseAlerts { get; init; }

    public required IReadOnlyList<LatencyClass> Latency { get; init; }

    /// <summary>Mean response time over every case.</summary>
    public required double MeanLatencyMs { get; init; }
    public required IReadOnlyDictionary<string, GroupStats> ByTier { get; init; }
    public required IReadOnlyDictionary<string, GroupStats> ByCategory { get; init; }
    public required IReadOnlyDictionary<string, GroupStats> ByLang { get; init; }
    public required IReadOnlyDictionary<string, GroupStats> ByOutcome { get; init; }

    /// <summary>expected action → predicted action → count (<c>(none)</c> for no action).</summary>
    public required IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> Confusion { get; init; }

    public required Calibration Calibration { get; init; }
    public required IReadOnlyList<TargetResult> Targets { get; init; }
    public required IReadOnlyList<FailedCase> Failures { get; init; }
    public IReadOnlyList<ModelComparison> Comparison { get; init; } = [];
}
