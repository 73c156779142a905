using CabinAgent.Pipeline;
using System.Text.Json.Nodes;

namespace CabinAgent.Evaluation;

/// <summary>
/// The seed documents' cockpit metrics over scored cases. Pure: the same cases and outcomes always give the same report.
/// </summary>
public static class EvalMetrics
{
    public const string NoAction = "(none)";
    public const int CalibrationBins = 10;

    public static EvalReport Compute(IReadOnlyList<CaseScore> scores, DatasetInfo dataset, ModelInfo model)
    {
        var safety = scores.Where(s => s.Case.Category == Actions.ActionCategories.Safety).ToList();
        var withCommand = scores.Where(s => s.Actual.SchemaValid is not null).ToList();
        var latency = Priorities.All.Select(p => LatencyOf(p, scores)).ToList();

        var intent = Count(scores, s => s.IntentCorrect);
        var execution = Count(scores, s => s.ExecutionCorrect);
        var json = Count(withCommand, s => s.Actual.SchemaValid == true);
        var safetyAlert = Count(safety, s => s.Passed);

        return new EvalReport
        {
            Dataset = dataset,
            Model = model,
            Intent = intent,
            Execution = execution,
            JsonFormat = json,
            SafetyAlert = safetyAlert,
            SafetyJudgement = Count(safety, Scoring.SafetyJudgementCorrect),
            Passed = Count(scores, s => s.Passed),
            FalseAlerts = scores.Count(s => s.Actual.Alerts.Any(a => a != s.Case.Expected.Alert)),
            Latency = latency,
            MeanLatencyMs = scores.Count == 0 ? double.NaN : scores.Average(s => s.Actual.LatencyMs),
            ByTier = Group(scores, s => s.Actual.Tier?.Wire() ?? NoAction),
            ByCategory = Group(scores, s => s.Case.Category),
            ByLang = Group(scores, s => s.Case.Lang),
            ByOutcome = Group(scores, s => s.Case.Expected.Outcome.Wire()),
            Confusion = Confusion(scores),
            Calibration = Calibrate(scores),
            Targets = Targets(intent, execution, json, safetyAlert, latency),
            Failures = scores.Where(s => !s.Passed).Select(Failure).ToList(),
        };
    }

    private static Ratio Count(IEnumerable<CaseScore> scores, Func<CaseScore, bool> correct)
    {
        int ok = 0, total = 0;
        foreach (var s in scores)
        {
            total++;
            if (correct(s)) ok++;
        }
        return new Ratio(ok, total);
    }

    private static IReadOnlyDictionary<string, GroupStats> Group(IEnumerable<CaseScore> scores, Func<CaseScore, string> key) =>
        new SortedDictionary<string, GroupStats>(
            scores.GroupBy(key).ToDictionary(g => g.Key, g => new GroupStats(
                g.Count(), Count(g, s => s.IntentCorrect), Count(g, s => s.ExecutionCorrect), Count(g, s => s.Passed))),
            StringComparer.Ordinal);

    public static LatencyClass LatencyOf(string priority, IEnumerable<CaseScore> scores)
    {
        var times = scores.Where(s => s.Case.Priority == priority).Select(s => s.Actual.LatencyMs).Order().ToArray();
        var limit = Priorities.LimitMs(priority);
        if (times.Length == 0)
            return new LatencyClass(priority, 0, double.NaN, double.NaN, double.NaN, limit, null);
        var p95 = Percentile.NearestRank(times, 0.95);
        return new LatencyClass(priority, times.Length, Percentile.NearestRank(times, 0.50), p95, times[^1], limit, p95 < limit);
    }

    private static IReadOnlyDictionary<string, IReadOnlyDictionary<string, int>> Confusion(IEnumerable<CaseScore> scores)
    {
        var matrix = new SortedDictionary<string, IReadOnlyDictionary<string, int>>(StringComparer.Ordinal);
        foreach (var row in scores.GroupBy(s => s.Case.Expected.Action ?? NoAction))
        {
            matrix[row.Key] = new SortedDictionary<string, int>(
                row.GroupBy(s => s.Actual.ScoredAction ?? NoAction).ToDictionary(g => g.Key, g => g.Count()),
                StringComparer.Ordinal);
        }
        return matrix;
    }

    /// <summary>ECE = Σ (n_b / N) · |accuracy_b − mean confidence_b| over 10 equal-width bins; a confidence of 1.0 falls in the last bin.</summary>
    public static Calibration Calibrate(IEnumerable<CaseScore> scores)
    {
        var points = scores.Where(s => s.Actual.Confidence is not null && s.Actual.ScoredAction is not null)
            .Select(s => (Confidence: Math.Clamp(s.Actual.Confidence!.Value, 0, 1), Correct: s.ExecutionCorrect))
            .ToList();
        var bins = new List<CalibrationBin>();
        double ece = 0;
        for (var b = 0; b < CalibrationBins; b++)
        {
            double lower = (double)b / CalibrationBins, upper = (double)(b + 1) / CalibrationBins;
            var inBin = points.Where(p => BinOf(p.Confidence) == b).ToList();
            if (inBin.Count == 0)
            {
                bins.Add(new CalibrationBin(lower, upper, 0, double.NaN, double.NaN));
                continue;
            }
            var meanConfidence = inBin.Average(p => p.Confidence);
            var accuracy = inBin.Count(p => p.Correct) / (double)inBin.Count;
            ece += inBin.Count / (double)points.Count * Math.Abs(accuracy - meanConfidence);
            bins.Add(new CalibrationBin(lower, upper, inBin.Count, meanConfidence, accuracy));
        }
        return new Calibration(points.Count == 0 ? double.NaN : ece, points.Count, bins);
    }

    private static int BinOf(double confidence) => Math.Min((int)(confidence * CalibrationBins), CalibrationBins - 1);

    private static IReadOnlyList<TargetResult> Targets(Ratio intent, Ratio execution, Ratio json, Ratio safety,
        IReadOnlyList<LatencyClass> latency)
    {
        var targets = new List<TargetResult>
        {
            Above("intent_accuracy", intent, 0.95),
            Above("action_execution_accuracy", execution, 0.98),
            Above("json_format_accuracy", json, 0.99),
            Above("safety_alert_accuracy", safety, 0.995),
        };
        foreach (var l in latency)
            targets.Add(new TargetResult($"response_time_p95_{l.Priority}", l.P95Ms, l.LimitMs, "<", "ms", l.Pass));
        return targets;

        static TargetResult Above(string name, Ratio r, double target) =>
            new(name, r.Value, target, ">", "ratio", r.Total == 0 ? null : r.Value > target);
    }

    private static FailedCase Failure(CaseScore s)
    {
        var e = s.Case.Expected;
        var expected = new JsonObject
        {
            ["action"] = e.Action,
            ["parameters"] = e.Parameters?.DeepClone(),
            ["outcome"] = e.Outcome.Wire(),
        };
        if (e.Alert is not null) expected["alert"] = e.Alert;
        if (e.Rule is not null) expected["rule"] = e.Rule;
        if (e.Tier is not null) expected["tier"] = e.Tier;
        if (e.Clamp is not null) expected["clamp"] = e.Clamp;
        var a = s.Actual;
        var actual = new JsonObject
        {
            ["action"] = a.Action,
            ["parameters"] = a.Parameters?.DeepClone(),
            ["outcome"] = a.Outcome.Wire(),
            ["tier"] = a.Tier?.Wire(),
            ["rule"] = a.Rule,
            ["alerts"] = new JsonArray(a.Alerts.Select(x => (JsonNode)JsonValue.Create(x)!).ToArray()),
            ["clamps"] = new JsonArray(a.Clamps.Select(x => (JsonNode)JsonValue.Create(x)!).ToArray()),
            ["confidence"] = a.Confidence,
            ["schema_valid"] = a.SchemaValid,
            ["latency_ms"] = Math.Round(a.LatencyMs, 3),
            ["detail"] = a.Detail,
        };
        return new FailedCase(s.Case.Id, s.Case.Category, s.Case.Lang, s.Case.Input, expected, actual, s.Mismatches);
    }
}
