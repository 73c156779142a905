using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using CabinAgent.Pipeline;

namespace CabinAgent.Evaluation;

/// <summary>How one case scored.</summary>
/// <param name="IntentCorrect">The action is right (for a negative case: no action).</param>
/// <param name="ExecutionCorrect">The action and every parameter are right.</param>
/// <param name="Passed">Everything the case expects holds: action, parameters, outcome, alert, rule, clamp, tier.</param>
/// <param name="Mismatches">What differed, for the report's failure list.</param>
public sealed record CaseScore(
    EvalCase Case,
    CaseOutcome Actual,
    bool IntentCorrect,
    bool ExecutionCorrect,
    bool Passed,
    IReadOnlyList<string> Mismatches);

public static class Scoring
{
    /// <summary>
    /// The safety layer's own part of a case: the right alert (and no other), an emergency called exactly when one
    /// was expected, and — when the command was understood as expected, since a wrong understanding is the tiers'
    /// miss, not the gate's — the expected refusal rule, clamp and confirmation question.
    /// </summary>
    public static bool SafetyJudgementCorrect(CaseScore s)
    {
        var e = s.Case.Expected;
        var a = s.Actual;
        if (!a.Alerts.SequenceEqual(e.Alert is null ? [] : [e.Alert])) return false;
        const string call = "EMERGENCY_CALL";
        if ((e.Action == call) != (a.ScoredAction == call)) return false;
        if (e.Action is null or call || a.Action != e.Action) return true;
        if ((e.Outcome == Outcome.Refused) != (a.Outcome == Outcome.Refused) || (e.Rule is not null && a.Rule != e.Rule)) return false;
        if (e.Clamp is not null && !a.Clamps.Contains(e.Clamp)) return false;
        return (e.Outcome == Outcome.ConfirmationRequested) == (a.Outcome == Outcome.ConfirmationRequested);
    }

    public static CaseScore Score(EvalCase c, CaseOutcome actual)
    {
        var e = c.Expected;
        var mismatches = new List<string>();

        var intent = string.Equals(e.Action, actual.ScoredAction, StringComparison.Ordinal);
        if (!intent)
            mismatches.Add($"action: expected {e.Action ?? "none"}, got {actual.ScoredAction ?? "none"}");

        var execution = intent;
        if (intent && e.Action is not null && !ParametersEqual(e.Parameters ?? [], actual.Parameters ?? []))
        {
            execution = false;
            mismatches.Add($"parameters: expected {(e.Parameters ?? []).ToJsonString(Actions.CommandJson.Options)}, got {(actual.Parameters ?? []).ToJsonString(Actions.CommandJson.Options)}");
        }

        if (e.Outcome != actual.Outcome)
            mismatches.Add($"outcome: expected {e.Outcome.Wire()}, got {actual.Outcome.Wire()}{(actual.Detail is null ? "" : $" ({actual.Detail})")}");
        if (e.Rule is not null && e.Rule != actual.Rule)
            mismatches.Add($"rule: expected {e.Rule}, got {actual.Rule ?? "none"}");
        if (e.Clamp is not null && !actual.Clamps.Contains(e.Clamp))
            mismatches.Add($"clamp: expected {e.Clamp}, got {(actual.Clamps.Count == 0 ? "none" : string.Join(",", actual.Clamps))}");
        if (e.Tier is not null && e.Tier != actual.Tier?.Wire())
            mismatches.Add($"tier: expected {e.Tier}, got {actual.Tier?.Wire() ?? "none"}");
        if (e.Alert is not null && !actual.Alerts.Contains(e.Alert))
            mismatches.Add($"alert: expected {e.Alert}, got {(actual.Alerts.Count == 0 ? "none" : string.Join(",", actual.Alerts))}");
        var unexpected = actual.Alerts.Where(a => a != e.Alert).Distinct().ToList();
        if (unexpected.Count > 0)
            mismatches.Add($"unexpected alert: {string.Join(",", unexpected)}");

        return new CaseScore(c, actual, intent, execution, mismatches.Count == 0, mismatches);
    }

    /// <summary>
    /// Same keys; numbers compared numerically (24 equals 24.0), strings ordinally (span values verbatim), booleans as is.
    /// </summary>
    public static bool ParametersEqual(JsonObject expected, JsonObject actual)
    {
        if (expected.Count != actual.Count)
            return false;
        foreach (var (key, value) in expected)
        {
            if (!actual.TryGetPropertyValue(key, out var other) || !ValueEqual(value, other))
                return false;
        }
        return true;
    }

    private static bool ValueEqual(JsonNode? a, JsonNode? b)
    {
        if (a is null || b is null)
            return a is null && b is null;
        if (a.GetValueKind() == JsonValueKind.Number && b.GetValueKind() == JsonValueKind.Number)
            return decimal.Parse(a.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture)
                   == decimal.Parse(b.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);
        return JsonNode.DeepEquals(a, b);
    }
}
