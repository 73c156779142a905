using System.Text.Json.Nodes;
using CabinAgent.Actions;

using CabinAgent.Pipeline;

namespace CabinAgent.Evaluation;

/// <summary>
/// Checks a dataset against the catalog and the format in <c>eval/README.md</c>: every expected command
/// must pass the command schema, span parameters must be copied from the input, outcomes must be coherent.
/// </summary>
public sealed class DatasetValidator(ActionCatalog catalog)
{
    private readonly CommandSchema _schema = CommandSchema.FromCatalog(catalog);

    /// <summary>Every problem found, one line each, prefixed by the case id; empty when the dataset is sound.</summary>
    public IReadOnlyList<string> Validate(IEnumerable<EvalCase> cases)
    {
        var problems = new List<string>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var inputs = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in cases)
        {
            if (!ids.Add(c.Id))
                problems.Add($"{c.Id}: duplicate id");
            if (!inputs.Add(c.Input))
                problems.Add($"{c.Id}: duplicate input '{c.Input}'");
            problems.AddRange(ValidateCase(c).Select(p => $"{c.Id}: {p}"));
        }
        return problems;
    }

    public IEnumerable<string> ValidateCase(EvalCase c)
    {
        if (!ActionCategories.All.Contains(c.Category))
            yield return $"unknown category '{c.Category}'";
        if (c.Lang is not ("zh" or "en"))
            yield return $"lang must be zh or en, not '{c.Lang}'";
        if (!Priorities.All.Contains(c.Priority))
            yield return $"unknown priority '{c.Priority}'";
        if (string.IsNullOrWhiteSpace(c.Input))
            yield return "empty input";

        var e = c.Expected;
        if (!ExpectedOutcome.Expectable.Contains(e.Outcome))
            yield return $"unknown expected outcome '{e.Outcome.Wire()}'";
        if (e.Alert is not null && !SafetyVocabulary.AlertKinds.Contains(e.Alert))
            yield return $"unknown alert kind '{e.Alert}'";
        if (e.Rule is not null && !SafetyVocabulary.RefusalRules.Contains(e.Rule))
            yield return $"unknown refusal rule '{e.Rule}'";
        if (e.Clamp is not null && !SafetyVocabulary.ClampRules.Contains(e.Clamp))
            yield return $"unknown clamp rule '{e.Clamp}'";
        if (e.Clamp is not null && (e.Outcome != Outcome.Published || c.VehicleState is null))
            yield return "a clamp is expected only on a published command with a vehicle_state";
        if ((e.Outcome == Outcome.Refused) != (e.Rule is not null))
            yield return "a rule is given exactly when the outcome is 'refused'";
        if (e.Alert is not null && c.VehicleState is null)
            yield return "an expected alert needs a vehicle_state";
        if (e.Rule is not null && c.VehicleState is null)
            yield return "an expected refusal needs a vehicle_state";

        if (e.Action is null)
        {
            if (e.Outcome != Outcome.NotUnderstood)
                yield return "a case without an action must expect 'not_understood'";
            if (e.Parameters is not null)
                yield return "a case without an action has no parameters";
        }
        else
        {
            if (e.Outcome == Outcome.NotUnderstood)
                yield return "'not_understood' expects action null";
            foreach (var p in ValidateCommand(c, e.Action, e.Parameters))
                yield return p;
        }

        if (c.VehicleState is not null)
            foreach (var p in ValidateState(c.VehicleState))
                yield return p;
    }

    private IEnumerable<string> ValidateCommand(EvalCase c, string action, JsonObject? parameters)
    {
        if (!catalog.TryGet(action, out var definition))
        {
            yield return $"unknown action '{action}'";
            yield break;
        }
        if (parameters is null)
        {
            yield return "expected.parameters is required when an action is expected (use {} for none)";
            yield break;
        }
        if (c.Category != ActionCategories.Safety && definition.Category != c.Category)
            yield return $"action {action} is in category '{definition.Category}', the case in '{c.Category}'";
        // Confirmation comes from the catalog, or from a gate rule in a driving state (all windows at speed).
        if (c.Expected.Outcome == Outcome.ConfirmationRequested && !definition.RequiresConfirmation && c.VehicleState is null)
            yield return $"{action} does not require confirmation in the catalog, and no vehicle_state calls for it";
        if (c.Expected.Outcome == Outcome.Published && definition.RequiresConfirmation)
            yield return $"{action} requires confirmation, it cannot be published straight away";

        var command = new VehicleCommand
        {
            Action = action,
            Parameters = (JsonObject)parameters.DeepClone(),
            Response = ResponseRenderer.Render(catalog, definition, parameters, c.Lang),
            Confidence = 1.0,
            RequiresConfirmation = definition.RequiresConfirmation,
        };
        foreach (var reason in _schema.Validate(command))
            yield return $"expected command is not schema-valid: {reason}";

        foreach (var p in definition.Parameters.Where(p => p.Span))
        {
            if (parameters[p.Name] is JsonValue v && v.TryGetValue<string>(out var span) && !c.Input.Contains(span, StringComparison.Ordinal))
                yield return $"span parameter {p.Name}='{span}' is not copied verbatim from the input";
        }
    }

    private static IEnumerable<string> ValidateState(JsonObject state)
    {
        foreach (var (key, value) in state)
        {
            if (!SafetyVocabulary.Signals.TryGetValue(key, out var kind))
            {
                yield return $"unknown vehicle_state signal '{key}'";
                continue;
            }
            var ok = value is JsonValue v && kind switch
            {
                SafetyVocabulary.SignalKind.Boolean => v.TryGetValue<bool>(out _),
                SafetyVocabulary.SignalKind.Gear => v.TryGetValue<string>(out var g) && g is "P" or "R" or "N" or "D",
                SafetyVocabulary.SignalKind.FatigueLevel => v.TryGetValue<int>(out var f) && f is >= 0 and <= 3,
                SafetyVocabulary.SignalKind.Percent => v.TryGetValue<double>(out var pc) && pc is >= 0 and <= 100,
                SafetyVocabulary.SignalKind.NonNegativeNumber => v.TryGetValue<double>(out var n) && n >= 0,
                _ => v.TryGetValue<double>(out _),
            };
            if (!ok)
                yield return $"vehicle_state.{key} has an invalid value {value?.ToJsonString() ?? "null"}";
        }
    }
}
