using System.Text.Json.Nodes;
using CabinAgent.Pipeline;

namespace CabinAgent.Evaluation;

/// <summary>One line of an evaluation set (<c>eval/*.jsonl</c>); the format is defined in <c>eval/README.md</c>.</summary>
/// <param name="VehicleState">Telemetry snapshot fed to the safety layer before the utterance; null means parked and safe.</param>
/// <param name="Line">1-based line in the source file, for messages.</param>
public sealed record EvalCase(
    string Id,
    string Category,
    string Lang,
    string Input,
    JsonObject? VehicleState,
    ExpectedOutcome Expected,
    string Priority,
    int Line = 0);

/// <summary>What the agent must do with a case.</summary>
/// <param name="Outcome">One of <see cref="Expectable"/>; <c>expected.outcome</c> in the file is its wire name.</param>
/// <param name="Action">The action, or null when nothing may be executed (a negative case).</param>
/// <param name="Parameters">Compared exactly: same keys, numbers numerically, strings ordinally.</param>
/// <param name="Alert">A safety alert kind that must be raised; null means none may be raised.</param>
/// <param name="Rule">The gate rule id that must refuse the command (outcome <c>refused</c>).</param>
/// <param name="Tier">The tier that must answer (e.g. <c>safety</c> for emergencies); null means any.</param>
/// <param name="Clamp">A gate clamp rule that must have limited a parameter of the published command (the limited value is in <paramref name="Parameters"/>).</param>
public sealed record ExpectedOutcome(
    string? Action,
    JsonObject? Parameters,
    Outcome Outcome,
    string? Alert = null,
    string? Rule = null,
    string? Tier = null,
    string? Clamp = null)
{
    /// <summary>
    /// The outcomes a case may expect. The others are only ever observed, and scored as <see cref="Outcome.Error"/>
    /// (see <see cref="CaseOutcome.Outcome"/>): nothing was executed.
    /// </summary>
    public static readonly IReadOnlySet<Outcome> Expectable = new HashSet<Outcome>
        { Outcome.Published, Outcome.Refused, Outcome.ConfirmationRequested, Outcome.NotUnderstood };
}

/// <summary>Priority classes and the response-time limits the seed documents set for them.</summary>
public static class Priorities
{
    public const string Emergency = "emergency";
    public const string High = "high";
    public const string Medium = "medium";
    public const string Low = "low";

    public static readonly IReadOnlyList<string> All = [Emergency, High, Medium, Low];

    /// <summary>Emergencies under 1 s, ordinary commands (high, medium) under 2 s, queries and complex requests (low) under 3 s.</summary>
    public static double LimitMs(string priority) => priority switch
    {
        Emergency => 1000,
        High or Medium => 2000,
        Low => 3000,
        _ => throw new ArgumentOutOfRangeException(nameof(priority), priority, "unknown priority"),
    };
}

/// <summary>Safety alert kinds and vehicle-state signals, as named by the team's shared conventions.</summary>
public static class SafetyVocabulary
{
    public static readonly IReadOnlySet<string> AlertKinds = new HashSet<string>(StringComparer.Ordinal)
        { "overspeed", "fatigue", "seatbelt_unfastened", "door_open_moving" };

    /// <summary>Gate rules that refuse a command outright.</summary>
    public static readonly IReadOnlySet<string> RefusalRules = new HashSet<string>(StringComparer.Ordinal)
        { "video_while_moving", "door_while_moving", "trunk_while_moving" };

    /// <summary>Gate rules that let a command through with a parameter limited (window opening, volume at speed).</summary>
    public static readonly IReadOnlySet<string> ClampRules = new HashSet<string>(StringComparer.Ordinal)
        { "window_limit_at_speed", "volume_limit_at_speed" };

    public enum SignalKind { NonNegativeNumber, Number, Gear, FatigueLevel, Boolean, Percent }

    public static readonly IReadOnlyDictionary<string, SignalKind> Signals = new Dictionary<string, SignalKind>(StringComparer.Ordinal)
    {
        ["speed_kmh"] = SignalKind.NonNegativeNumber,
        ["speed_limit_kmh"] = SignalKind.NonNegativeNumber,
        ["gear"] = SignalKind.Gear,
        ["driver_fatigue_level"] = SignalKind.FatigueLevel,
        ["driving_minutes"] = SignalKind.NonNegativeNumber,
        ["seat_belt_driver"] = SignalKind.Boolean,
        ["seat_belt_passenger"] = SignalKind.Boolean,
        ["door_open"] = SignalKind.Boolean,
        ["fuel_percent"] = SignalKind.Percent,
        ["battery_percent"] = SignalKind.Percent,
        ["tire_pressure_kpa"] = SignalKind.NonNegativeNumber,
    };
}
