using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using CabinAgent.Actions;

namespace CabinAgent.Safety;

/// <summary>The alert kinds every team uses (stable strings on <c>safety/alert</c>).</summary>
public static class AlertKinds
{
    public const string Overspeed = "overspeed";
    public const string Fatigue = "fatigue";
    public const string SeatbeltUnfastened = "seatbelt_unfastened";
    public const string DoorOpenMoving = "door_open_moving";
    /// <summary>Diagnostic: a signal's source clock runs ahead of ours beyond the skew window, so it is being rejected.</summary>
    public const string TelemetryClockFault = "telemetry_clock_fault";
    /// <summary>The crash signal's countdown and call, and the call after an unanswered emergency question.</summary>
    public const string CrashCall = "crash_call";
}

[JsonConverter(typeof(JsonStringEnumConverter<AlertSeverity>))]
public enum AlertSeverity
{
    [JsonStringEnumMemberName("info")] Info,
    [JsonStringEnumMemberName("warning")] Warning,
    [JsonStringEnumMemberName("critical")] Critical,
}

/// <summary>One alert for the driver, as published on <c>safety/alert</c> and spoken on <c>agent/response</c>.</summary>
/// <param name="Kind">One of <see cref="AlertKinds"/>.</param>
/// <param name="Rule">The rule inside the kind that fired (e.g. <c>fatigue_level</c> vs <c>fatigue_driving_time</c>).</param>
/// <param name="Reason">Why, for logs and the record (English, with the figures).</param>
/// <param name="State">The signal values that triggered it, as <c>vehicle_state</c> keys.</param>
/// <param name="Lang">The language to speak: the driver's last language.</param>
/// <param name="TriggeredAt">When the alert became due: receipt of the telemetry that made it true, or the end of
/// its hold / re-alert interval. Latency budgets are measured from here.</param>
/// <param name="Suggested">A command the driver is offered (fatigue: find a rest area); not executed by the layer.</param>
/// <param name="Repeat">True for a re-alert of a condition that is still active.</param>
/// <param name="Call">An <c>EMERGENCY_CALL</c> the layer places by itself (crash signal, unanswered emergency question):
/// the sink publishes it on its action topic, then the alert.</param>
public sealed record SafetyAlert(
    string Kind,
    string Rule,
    AlertSeverity Severity,
    string Reason,
    JsonObject State,
    string SpokenZh,
    string SpokenEn,
    string Lang,
    DateTimeOffset TriggeredAt,
    VehicleCommand? Suggested,
    bool Repeat,
    VehicleCommand? Call = null)
{
    public string Spoken => Lang == "en" ? SpokenEn : SpokenZh;

    /// <summary>The <c>safety/alert</c> payload.</summary>
    public JsonObject ToJson()
    {
        var json = new JsonObject
        {
            ["kind"] = Kind,
            ["rule"] = Rule,
            ["severity"] = Severity switch { AlertSeverity.Critical => "critical", AlertSeverity.Warning => "warning", _ => "info" },
            ["reason"] = Reason,
            ["state"] = State.DeepClone(),
            ["spoken"] = new JsonObject { ["zh"] = SpokenZh, ["en"] = SpokenEn },
            ["lang"] = Lang,
            ["ts_ms"] = TriggeredAt.ToUnixTimeMilliseconds(),
            ["repeat"] = Repeat,
        };
        if (Suggested is not null) json["suggested"] = Suggested.ToJsonObject();
        if (Call is not null) json["call"] = Call.ToJsonObject();
        return json;
    }
}

/// <summary>Something the agent must say that is not an alert (e.g. "confirmation timed out, cancelled").</summary>
/// <param name="UtteranceId">The utterance it answers, when there is one.</param>
public sealed record SpokenNotice(string Text, string Lang, string Reason, string? UtteranceId, DateTimeOffset At);
