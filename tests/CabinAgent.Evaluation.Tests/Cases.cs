using System.Text.Json.Nodes;
using CabinAgent.Pipeline;
using CabinAgent.Understanding;

namespace CabinAgent.Evaluation.Tests;

/// <summary>Hand-made cases and outcomes for the metric tests.</summary>
internal static class Cases
{
    public static EvalCase Make(string id, string? action, JsonObject? parameters = null, string category = "music",
        string lang = "zh", string priority = "medium", Outcome? outcome = null, string? alert = null, string? rule = null,
        string? tier = null) =>
        new(id, category, lang, "input " + id, null,
            new ExpectedOutcome(action, action is null ? null : parameters ?? [], outcome ?? (action is null ? Outcome.NotUnderstood : Outcome.Published),
                alert, rule, tier),
            priority);

    public static CaseOutcome Published(string action, JsonObject? parameters = null, double latencyMs = 10, double? confidence = 1.0,
        Tier tier = Tier.Deterministic, bool schemaValid = true, params string[] alerts) => new()
    {
        Outcome = Outcome.Published,
        Action = action,
        Parameters = parameters ?? [],
        Tier = tier,
        Confidence = confidence,
        SchemaValid = schemaValid,
        LatencyMs = latencyMs,
        Alerts = alerts,
    };

    public static CaseOutcome NotUnderstood(double latencyMs = 5) => new()
    {
        Outcome = Outcome.NotUnderstood,
        LatencyMs = latencyMs,
        Detail = "no tier matched",
    };
}
