using System.Text.Json.Nodes;
using static CabinAgent.Evaluation.Tests.Cases;
using CabinAgent.Pipeline;
using CabinAgent.Understanding;

namespace CabinAgent.Evaluation.Tests;

public class MetricsTests
{
    private static readonly DatasetInfo Data = new("eval/test.jsonl", "test", 0, null);
    private static readonly ModelInfo Deterministic = new(["deterministic"]);

    private static EvalReport Report(params (EvalCase Case, CaseOutcome Outcome)[] pairs) =>
        EvalMetrics.Compute(pairs.Select(p => Scoring.Score(p.Case, p.Outcome)).ToList(), Data, Deterministic);

    /// <summary>Ten cases with known results: 7 fully right, 1 wrong parameter, 1 wrong action, 1 missed alert.</summary>
    private static EvalReport TenCases() => Report(
        (Make("m1", "MUSIC_NEXT"), Published("MUSIC_NEXT", latencyMs: 100)),
        (Make("m2", "VOLUME_SET", new JsonObject { ["level"] = 30 }), Published("VOLUME_SET", new JsonObject { ["level"] = 13 }, latencyMs: 200, confidence: 0.9)),
        (Make("m3", "MUSIC_PAUSE", lang: "en"), Published("MUSIC_RESUME", latencyMs: 300, tier: Tier.Llm, confidence: 0.55, schemaValid: true)),
        (Make("n1", "NAV_CANCEL", category: "navigation", lang: "en"), Published("NAV_CANCEL", latencyMs: 400, tier: Tier.Llm, confidence: 0.85)),
        (Make("n2", null, category: "navigation", priority: "low"), NotUnderstood(latencyMs: 50)),
        (Make("s1", "STATUS_QUERY", new JsonObject { ["item"] = "fuel" }, category: "status_query", priority: "low"),
            Published("STATUS_QUERY", new JsonObject { ["item"] = "fuel" }, latencyMs: 2500)),
        (Make("f1", "EMERGENCY_CALL", new JsonObject { ["service"] = "fire" }, category: "safety", priority: "emergency", tier: "safety"),
            Published("EMERGENCY_CALL", new JsonObject { ["service"] = "fire" }, latencyMs: 20, tier: Tier.Safety)),
        (Make("f2", "EMERGENCY_CALL", new JsonObject(), category: "safety", priority: "emergency", tier: "safety"),
            Published("EMERGENCY_CALL", latencyMs: 1500, tier: Tier.Safety)),
        (Make("f3", "MUSIC_NEXT", category: "safety", priority: "high", alert: "overspeed"), Published("MUSIC_NEXT", latencyMs: 30)),
        (Make("f4", "VIDEO_PLAY", category: "safety", priority: "high", outcome: Outcome.Refused, rule: "video_while_moving"),
            new CaseOutcome { Outcome = Outcome.Refused, Action = "VIDEO_PLAY", Parameters = [], Rule = "video_while_moving", Tier = Tier.Deterministic, Confidence = 1.0, SchemaValid = true, LatencyMs = 40 }));

    [Fact]
    public void Headline_ratios_are_exact()
    {
        var r = TenCases();
        Assert.Equal(new Ratio(9, 10), r.Intent);       // m3 wrong action
        Assert.Equal(new Ratio(8, 10), r.Execution);    // + m2 wrong parameter
        Assert.Equal(new Ratio(9, 9), r.JsonFormat);    // n2 produced no command
        Assert.Equal(new Ratio(3, 4), r.SafetyAlert);   // f3 missed its alert
        Assert.Equal(new Ratio(7, 10), r.Passed);
        Assert.Equal(0, r.FalseAlerts);
        Assert.Equal(["f3", "m2", "m3"], r.Failures.Select(f => f.Id).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Targets_pass_or_fail_against_the_seed_limits()
    {
        var targets = TenCases().Targets.ToDictionary(t => t.Name, t => t.Pass);
        Assert.False(targets["intent_accuracy"]);           // 90% ≤ 95%
        Assert.False(targets["action_execution_accuracy"]);
        Assert.True(targets["json_format_accuracy"]);        // 100% > 99%
        Assert.False(targets["safety_alert_accuracy"]);
        Assert.False(targets["response_time_p95_emergency"]); // 1500 ms ≥ 1000 ms
        Assert.True(targets["response_time_p95_high"]);
        Assert.True(targets["response_time_p95_medium"]);
        Assert.True(targets["response_time_p95_low"]);        // 2500 ms < 3000 ms
    }

    [Fact]
    public void Latency_uses_nearest_rank_percentiles_per_priority()
    {
        var medium = TenCases().Latency.Single(l => l.Priority == "medium");
        Assert.Equal(4, medium.Cases);
        Assert.Equal(200, medium.P50Ms);
        Assert.Equal(400, medium.P95Ms);
        Assert.Equal(400, medium.MaxMs);
        Assert.Equal(2000, medium.LimitMs);
    }

    [Fact]
    public void Groups_by_tier_category_and_language()
    {
        var r = TenCases();
        Assert.Equal(new GroupStats(2, new Ratio(1, 2), new Ratio(1, 2), new Ratio(1, 2)), r.ByTier["llm"]);
        Assert.Equal(new GroupStats(1, new Ratio(1, 1), new Ratio(1, 1), new Ratio(1, 1)), r.ByTier[EvalMetrics.NoAction]);
        Assert.Equal(new GroupStats(2, new Ratio(2, 2), new Ratio(2, 2), new Ratio(2, 2)), r.ByTier["safety"]);
        Assert.Equal(new GroupStats(3, new Ratio(2, 3), new Ratio(1, 3), new Ratio(1, 3)), r.ByCategory["music"]);
        Assert.Equal(new GroupStats(2, new Ratio(1, 2), new Ratio(1, 2), new Ratio(1, 2)), r.ByLang["en"]);
        Assert.Equal([EvalMetrics.NoAction, "deterministic", "llm", "safety"], r.ByTier.Keys);
    }

    [Fact]
    public void Confusion_matrix_counts_expected_against_predicted()
    {
        var c = TenCases().Confusion;
        Assert.Equal(1, c["MUSIC_PAUSE"]["MUSIC_RESUME"]);
        Assert.Equal(2, c["MUSIC_NEXT"]["MUSIC_NEXT"]);
        Assert.Equal(1, c[EvalMetrics.NoAction][EvalMetrics.NoAction]);
        Assert.Equal(10, c.Values.Sum(row => row.Values.Sum()));
    }

    [Fact]
    public void Expected_calibration_error_over_ten_bins()
    {
        // Confidences 1.0 ×7 (6 right: m1, s1, f1, f2, f3 [execution right, alert aside], f4; m2 is 0.9 and wrong),
        // 0.9 ×1 wrong, 0.55 ×1 wrong, 0.85 ×1 right.
        var cal = TenCases().Calibration;
        Assert.Equal(9, cal.Commands);
        Assert.Equal(10, cal.Bins.Count);
        var top = cal.Bins[9];
        Assert.Equal(7, top.Count);   // 1.0 ×6 and 0.9 ×1
        Assert.Equal(6.0 / 7, top.Accuracy, 12);
        Assert.Equal(6.9 / 7, top.MeanConfidence, 12);
        Assert.Equal(1, cal.Bins[8].Count);
        Assert.Equal(1, cal.Bins[5].Count);
        // |6/7 − 6.9/7|·7/9 + |1 − 0.85|·1/9 + |0 − 0.55|·1/9
        Assert.Equal((0.9 / 7 * 7 + 0.15 + 0.55) / 9, cal.Ece, 12);
    }

    [Fact]
    public void A_perfectly_calibrated_run_has_zero_error_and_an_empty_run_has_none()
    {
        var perfect = Report(
            (Make("a", "MUSIC_NEXT"), Published("MUSIC_NEXT", confidence: 0.5)),
            (Make("b", "MUSIC_NEXT"), Published("MUSIC_PREVIOUS", confidence: 0.5)));
        Assert.Equal(0.0, perfect.Calibration.Ece, 12);
        var none = Report((Make("n", null), NotUnderstood()));
        Assert.True(double.IsNaN(none.Calibration.Ece));
        Assert.Equal(new Ratio(0, 0), none.JsonFormat);
        Assert.Null(none.Targets.Single(t => t.Name == "json_format_accuracy").Pass);
        Assert.Null(none.Targets.Single(t => t.Name == "response_time_p95_emergency").Pass);
    }

    [Fact]
    public void Unexpected_alerts_are_counted_as_false_alerts()
    {
        var r = Report((Make("a", "MUSIC_NEXT"), Published("MUSIC_NEXT", alerts: "fatigue")), (Make("b", "MUSIC_NEXT"), Published("MUSIC_NEXT")));
        Assert.Equal(1, r.FalseAlerts);
    }
}
