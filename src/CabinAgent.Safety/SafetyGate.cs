using System.Globalization;
using System.Text.Json.Nodes;
using CabinAgent.Actions;

namespace CabinAgent.Safety;

/// <summary>
/// The gate's rules (<see cref="GateOptions"/>) applied to one command against the current vehicle state.
/// When a rule needs the speed or the gear and it is missing or stale, the gate does not guess "parked":
/// refusal rules refuse (saying the state is unknown), clamp and confirmation rules apply as if at speed.
/// Not thread-safe: <see cref="SafetyLayer"/> serialises access.
/// </summary>
internal sealed class SafetyGate(GateOptions options, ConfirmationOptions confirmation, ActionCatalog catalog, VehicleStateStore store)
{
    public const string UnknownActionRule = "unknown_action";

    /// <param name="confirmed">True when re-checking a command the driver just confirmed: no second question.</param>
    public GateDecision Evaluate(VehicleCommand command, string lang, DateTimeOffset now, bool confirmed)
    {
        if (command.Action == EmergencyDetector.EmergencyAction)
            return new GateAllow(command, []);
        if (!catalog.TryGet(command.Action, out var action))
            return new GateRefuse(UnknownActionRule, $"action {command.Action} is not in the catalog",
                lang == "en" ? "Sorry, I can't do that." : "抱歉，这个操作无法执行。");

        var speed = store.Read(TelemetrySignals.SpeedKmh, now);
        foreach (var rule in options.Refuse)
        {
            if (!rule.Actions.Contains(command.Action)) continue;
            if (!speed.IsFresh)
                return Unknown(rule.Id, speed.Describe(now), lang);
            if (speed.Value > rule.MaxSpeedKmh)
                return Refuse(rule, string.Create(CultureInfo.InvariantCulture,
                    $"{command.Action} refused at {speed.Value:0.#} km/h (allowed up to {rule.MaxSpeedKmh:0.#} km/h)"), speed.Value, lang);
            if (rule.RequiredGears is { Count: > 0 } gears)
            {
                var gear = store.Read(TelemetrySignals.Gear, now);
                if (!gear.IsFresh) return Unknown(rule.Id, gear.Describe(now), lang);
                if (!gears.Contains(gear.AsGear!))
                    return Refuse(rule, $"{command.Action} refused in gear {gear.AsGear} (needs {string.Join("/", gears)})", speed.Value, lang);
            }
        }

        var notes = new List<GateClamp>();
        var parameters = command.Parameters;
        var spokenNotes = new List<string>();
        foreach (var rule in options.Clamp)
        {
            if (rule.Action != command.Action) continue;
            if (speed.IsFresh && speed.Value <= rule.AboveSpeedKmh) continue;
            var current = parameters[rule.Parameter];
            var value = Number(current);
            if (value is null && !rule.ApplyWhenMissing) continue;
            if (value is { } x && x <= rule.Max) continue;
            var why = speed.IsFresh
                ? string.Create(CultureInfo.InvariantCulture, $"at {speed.Value:0.#} km/h")
                : $"speed unknown: {speed.Describe(now)}";
            if (ReferenceEquals(parameters, command.Parameters)) parameters = (JsonObject)command.Parameters.DeepClone();
            var parameter = action.FindParameter(rule.Parameter);
            parameters[rule.Parameter] = parameter?.Type == ParameterType.Integer
                ? JsonValue.Create((long)Math.Floor(rule.Max))
                : JsonValue.Create(rule.Max);
            notes.Add(new GateClamp(rule.Id, string.Create(CultureInfo.InvariantCulture,
                $"{rule.Id}: {rule.Parameter} {(value is null ? "(unset)" : value.Value.ToString("0.##", CultureInfo.InvariantCulture))} -> {rule.Max:0.##} {why}")));
            spokenNotes.Add(rule.SpokenNote.In(lang).Replace("{max}", rule.Max.ToString("0.##", CultureInfo.InvariantCulture), StringComparison.Ordinal));
        }
        var result = command;
        if (notes.Count > 0)
        {
            result = command with
            {
                Parameters = parameters,
                Response = ResponseRenderer.Render(catalog, action, parameters, lang) + string.Concat(spokenNotes),
            };
        }

        if (!confirmed)
        {
            var ask = action.RequiresConfirmation || command.RequiresConfirmation ? "catalog" : ConfirmRuleFor(result, speed);
            if (ask is not null)
                return new GateAskConfirmation(result with { RequiresConfirmation = true }, Question(result, lang));
        }
        return new GateAllow(result, notes);
    }

    /// <summary>A JSON number as a double, whatever CLR type the node holds (int from a tier, double from JSON text).</summary>
    internal static double? Number(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number
            ? double.Parse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture)
            : null;

    private string? ConfirmRuleFor(VehicleCommand command, SignalReading speed)
    {
        foreach (var rule in options.Confirm)
        {
            if (!rule.Actions.Contains(command.Action)) continue;
            if (speed.IsFresh && speed.Value <= rule.AboveSpeedKmh) continue;
            if (rule.ParameterEquals is { } equals && !equals.All(kv =>
                    command.Parameters[kv.Key] is JsonValue v && v.TryGetValue<string>(out var s) && s == kv.Value))
                continue;
            return rule.Id;
        }
        return null;
    }

    private string Question(VehicleCommand command, string lang) =>
        confirmation.Prompts.TryGetValue(command.Action, out var prompt)
            ? prompt.In(lang)
            : confirmation.DefaultPrompt.In(lang).Replace("{response}", command.Response, StringComparison.Ordinal);

    private static GateRefuse Refuse(RefuseRule rule, string reason, double speed, string lang) =>
        new(rule.Id, reason, rule.Spoken.In(lang).Replace("{speed}", speed.ToString("0", CultureInfo.InvariantCulture), StringComparison.Ordinal));

    private GateRefuse Unknown(string ruleId, string detail, string lang) =>
        new(ruleId, $"vehicle state unknown: {detail}", options.SpokenStateUnknown.In(lang));
}
