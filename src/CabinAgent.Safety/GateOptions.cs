using CabinAgent.Actions;

namespace CabinAgent.Safety;

/// <summary>The gate's rules, by stable id. <c>EMERGENCY_CALL</c> is never gated: validation refuses rules naming it.</summary>
public sealed class GateOptions
{
    public List<RefuseRule> Refuse { get; init; } = [];
    public List<ClampRule> Clamp { get; init; } = [];
    public List<ConfirmRule> Confirm { get; init; } = [];

    /// <summary>Said when a rule needs the speed or gear and it is missing or stale: the gate refuses rather than guess.</summary>
    public Spoken SpokenStateUnknown { get; init; } = new();

    internal void Validate(List<string> p)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        void Id(string id, string where)
        {
            if (string.IsNullOrWhiteSpace(id)) p.Add($"{where}: id missing");
            else if (!ids.Add(id)) p.Add($"{where}: duplicate rule id '{id}'");
        }
        void Actions(IReadOnlyList<string> actions, string where)
        {
            if (actions.Count == 0) p.Add($"{where}: actions missing");
            if (actions.Contains(EmergencyDetector.EmergencyAction)) p.Add($"{where}: {EmergencyDetector.EmergencyAction} is never gated");
        }
        for (var i = 0; i < Refuse.Count; i++)
        {
            var r = Refuse[i];
            var where = $"gate.refuse[{i}]";
            Id(r.Id, where);
            Actions(r.Actions, where);
            if (r.MaxSpeedKmh is < 0 or > MaxRefuseSpeedKmh) p.Add($"{where}.max_speed_kmh must be within 0..{MaxRefuseSpeedKmh}");
            foreach (var g in r.RequiredGears ?? [])
                if (!TelemetrySignals.Gears.Contains(g)) p.Add($"{where}.required_gears: unknown gear '{g}'");
            r.Spoken.Validate(p, $"{where}.spoken");
        }
        for (var i = 0; i < Clamp.Count; i++)
        {
            var c = Clamp[i];
            var where = $"gate.clamp[{i}]";
            Id(c.Id, where);
            Actions([c.Action], where);
            if (string.IsNullOrWhiteSpace(c.Parameter)) p.Add($"{where}.parameter missing");
            if (c.AboveSpeedKmh is < 0 or > MaxAboveSpeedKmh) p.Add($"{where}.above_speed_kmh must be within 0..{MaxAboveSpeedKmh}");
            c.SpokenNote.Validate(p, $"{where}.spoken_note");
        }
        for (var i = 0; i < Confirm.Count; i++)
        {
            var c = Confirm[i];
            var where = $"gate.confirm[{i}]";
            Id(c.Id, where);
            Actions(c.Actions, where);
            if (c.AboveSpeedKmh is < 0 or > MaxAboveSpeedKmh) p.Add($"{where}.above_speed_kmh must be within 0..{MaxAboveSpeedKmh}");
        }
        SpokenStateUnknown.Validate(p, "gate.spoken_state_unknown");
    }

    // A rule that can never apply is a rule switched off. The bounds keep a typo or an environment variable from doing
    // that silently: a refusal "unless slower than 1e9 km/h", a clamp or a question only above 1e9 km/h.
    internal const double MaxRefuseSpeedKmh = 30, MaxAboveSpeedKmh = 200;

    /// <summary>
    /// The rules name actions and parameters exactly as the catalog does: a misspelt or differently cased name would
    /// match no command, so the rule would be off while the agent runs as if it were on.
    /// </summary>
    internal void ValidateAgainst(ActionCatalog catalog, List<string> p)
    {
        void Known(IEnumerable<string> actions, string where)
        {
            foreach (var action in actions)
                if (!catalog.TryGet(action, out _)) p.Add($"{where}.actions: '{action}' is not an action of the catalog");
        }
        for (var i = 0; i < Refuse.Count; i++) Known(Refuse[i].Actions, $"gate.refuse[{i}]");
        for (var i = 0; i < Confirm.Count; i++) Known(Confirm[i].Actions, $"gate.confirm[{i}]");
        for (var i = 0; i < Clamp.Count; i++)
        {
            var c = Clamp[i];
            var where = $"gate.clamp[{i}]";
            if (!catalog.TryGet(c.Action, out var action)) { p.Add($"{where}.action: '{c.Action}' is not an action of the catalog"); continue; }
            var parameter = action.Parameters.FirstOrDefault(x => x.Name == c.Parameter);
            if (parameter is null) { p.Add($"{where}.parameter: {c.Action} has no parameter '{c.Parameter}'"); continue; }
            if (parameter.Type is not (ParameterType.Integer or ParameterType.Number)) p.Add($"{where}.parameter: {c.Action}.{c.Parameter} is not a number");
            else if (c.Max < (parameter.Minimum ?? double.MinValue) || c.Max > (parameter.Maximum ?? double.MaxValue))
                p.Add($"{where}.max: {c.Max} is outside {c.Action}.{c.Parameter}'s range {parameter.Minimum}..{parameter.Maximum}");
        }
    }
}

/// <summary>Refuse <see cref="Actions"/> unless speed ≤ <see cref="MaxSpeedKmh"/> (and the gear is one of
/// <see cref="RequiredGears"/> when given).</summary>
public sealed class RefuseRule
{
    public string Id { get; init; } = "";
    public List<string> Actions { get; init; } = [];
    public double MaxSpeedKmh { get; init; }
    public List<string>? RequiredGears { get; init; }
    /// <summary>The spoken refusal; <c>{speed}</c> is the current speed.</summary>
    public Spoken Spoken { get; init; } = new();
}

/// <summary>Above <see cref="AboveSpeedKmh"/> (or speed unknown), cap <see cref="Parameter"/> of <see cref="Action"/>
/// at <see cref="Max"/>; when <see cref="ApplyWhenMissing"/>, a missing parameter (meaning "all the way") is set to it.</summary>
public sealed class ClampRule
{
    public string Id { get; init; } = "";
    public string Action { get; init; } = "";
    public string Parameter { get; init; } = "";
    public double AboveSpeedKmh { get; init; }
    public double Max { get; init; }
    public bool ApplyWhenMissing { get; init; }
    /// <summary>Appended to the spoken response when the clamp changed something; <c>{max}</c> is the cap.</summary>
    public Spoken SpokenNote { get; init; } = new();
}

/// <summary>Ask before <see cref="Actions"/> above <see cref="AboveSpeedKmh"/> (or speed unknown), optionally only when
/// the parameters equal <see cref="ParameterEquals"/>. Catalog actions with <c>requires_confirmation</c> always ask.</summary>
public sealed class ConfirmRule
{
    public string Id { get; init; } = "";
    public List<string> Actions { get; init; } = [];
    public double AboveSpeedKmh { get; init; }
    public Dictionary<string, string>? ParameterEquals { get; init; }
}

public sealed class ConfirmationOptions
{
    public int TimeoutMs { get; init; } = 10_000;
    public List<string> Yes { get; init; } = [];
    public List<string> No { get; init; } = [];
    /// <summary>Action → question; others use <see cref="DefaultPrompt"/> where <c>{response}</c> is the command's response.</summary>
    public Dictionary<string, Spoken> Prompts { get; init; } = new();
    public Spoken DefaultPrompt { get; init; } = new();
    public Spoken SpokenCancelled { get; init; } = new();
    /// <summary>Said when nobody answered in time; <c>{question}</c> is not repeated, keep it short.</summary>
    public Spoken SpokenTimeout { get; init; } = new();

    internal void Validate(List<string> p)
    {
        if (TimeoutMs is < 1000 or > 120_000) p.Add("confirmation.timeout_ms must be within 1000..120000");
        if (Yes.Count == 0) p.Add("confirmation.yes missing");
        if (No.Count == 0) p.Add("confirmation.no missing");
        foreach (var (action, spoken) in Prompts) spoken.Validate(p, $"confirmation.prompts.{action}");
        DefaultPrompt.Validate(p, "confirmation.default_prompt");
        SpokenCancelled.Validate(p, "confirmation.spoken_cancelled");
        SpokenTimeout.Validate(p, "confirmation.spoken_timeout");
    }
}
