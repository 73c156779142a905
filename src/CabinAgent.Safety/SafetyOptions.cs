using CabinAgent.Actions;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CabinAgent.Safety;

/// <summary>
/// Everything in <c>config/safety.json</c>: telemetry ages, alert thresholds, latency budgets, gate rules and the
/// confirmation dialogue. Loaded once at start-up and validated there, so a bad file stops the agent with a
/// list of reasons instead of misbehaving on the road.
/// </summary>
public sealed class SafetyOptions
{
    /// <summary>
    /// Language of alerts before the driver has said anything (<c>zh</c> or <c>en</c>). The Host sets it from
    /// <c>Agent:DefaultLang</c>, the agent's one default language; it is not a key of the shipped <c>safety.json</c>.
    /// </summary>
    public string DefaultLang { get; init; } = "zh";

    /// <summary>Signal name → how long a value stays usable after it was received, in ms.</summary>
    public Dictionary<string, int> MaxAgeMs { get; init; } = new();

    public TelemetryOptions Telemetry { get; init; } = new();

    public AlertRulesOptions Alerts { get; init; } = new();

    /// <summary>Path (<c>overspeed</c>, <c>fatigue</c>, <c>seatbelt_unfastened</c>, <c>door_open_moving</c>,
    /// <c>emergency</c>) → latency budget in ms, from trigger to the publish call returning.</summary>
    public Dictionary<string, int> BudgetsMs { get; init; } = new();

    public DispatchOptions Dispatch { get; init; } = new();

    public GateOptions Gate { get; init; } = new();

    public ConfirmationOptions Confirmation { get; init; } = new();

    public EmergencyQuestionOptions EmergencyQuestion { get; init; } = new();

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public static SafetyOptions Load(string path)
    {
        if (!File.Exists(path))
            throw new SafetyConfigException($"safety config not found: {path}");
        using var stream = File.OpenRead(path);
        return Parse(stream, path);
    }

    public static SafetyOptions Parse(Stream json, string sourceName = "safety config")
    {
        SafetyOptions? options;
        try
        {
            options = JsonSerializer.Deserialize<SafetyOptions>(json, Json);
        }
        catch (JsonException ex)
        {
            throw new SafetyConfigException($"{sourceName}: invalid JSON: {ex.Message}", ex);
        }
        return Validated(options, sourceName);
    }

    /// <summary>
    /// Reads options from JSON the caller assembled (the Host lays configuration over <c>safety.json</c>) without
    /// validating them: the Host validates at start-up with every other section.
    /// </summary>
    public static SafetyOptions FromJson(System.Text.Json.Nodes.JsonNode json, string sourceName)
    {
        try
        {
            return json.Deserialize<SafetyOptions>(Json) ?? throw new SafetyConfigException($"{sourceName}: empty");
        }
        catch (JsonException ex)
        {
            throw new SafetyConfigException($"{sourceName}: invalid JSON: {ex.Message}", ex);
        }
    }

    private static SafetyOptions Validated(SafetyOptions? options, string sourceName)
    {
        if (options is null)
            throw new SafetyConfigException($"{sourceName}: empty");
        var problems = options.Validate();
        if (problems.Count > 0)
            throw new SafetyConfigException($"{sourceName}: " + string.Join("; ", problems));
        return options;
    }

    public static readonly IReadOnlyList<string> BudgetPaths =
        [AlertKinds.Overspeed, AlertKinds.Fatigue, AlertKinds.SeatbeltUnfastened, AlertKinds.DoorOpenMoving, "emergency", AlertKinds.CrashCall];

    // Upper bounds that keep a rule from being configured out of existence (a hold no alert outlasts, a reading that
    // stays fresh for days): beyond them the setting is a mistake, not a choice.
    internal const int MaxSignalAgeMs = 3_600_000, MaxMotionAgeMs = 10_000, MaxHoldMs = 10_000;

    /// <summary>The gate and the moving rules judge motion from these: a stale one must not count as fresh for long.</summary>
    private static readonly string[] MotionSignals = ["speed_kmh", "gear"];

    /// <summary>Every problem in the options, the gate's names checked against <paramref name="catalog"/>.</summary>
    public IReadOnlyList<string> Validate(ActionCatalog catalog)
    {
        var p = (List<string>)Validate();
        Gate.ValidateAgainst(catalog, p);
        return p;
    }

    /// <summary>Every problem in the options (empty when they are usable).</summary>
    public IReadOnlyList<string> Validate()
    {
        var p = new List<string>();
        if (DefaultLang is not ("zh" or "en")) p.Add("default_lang must be zh or en");
        foreach (var signal in TelemetrySignals.All)
        {
            if (!MaxAgeMs.TryGetValue(signal.Name, out var age)) p.Add($"max_age_ms.{signal.Name} missing");
            else
            {
                var max = MotionSignals.Contains(signal.Name) ? MaxMotionAgeMs : MaxSignalAgeMs;
                if (age <= 0 || age > max) p.Add($"max_age_ms.{signal.Name} must be within 1..{max}");
            }
        }
        foreach (var name in MaxAgeMs.Keys)
            if (!TelemetrySignals.TryGet(name, out _)) p.Add($"max_age_ms: unknown signal '{name}'");
        Telemetry.Validate(p);
        foreach (var path in BudgetPaths)
        {
            if (!BudgetsMs.TryGetValue(path, out var ms)) p.Add($"budgets_ms.{path} missing");
            else if (ms <= 0) p.Add($"budgets_ms.{path} must be > 0");
        }
        Alerts.Validate(p);
        if (Dispatch.QueueCapacity < 8) p.Add("dispatch.queue_capacity must be >= 8");
        if (Dispatch.PublishAttempts < 1) p.Add("dispatch.publish_attempts must be >= 1");
        if (Dispatch.RetryDelayMs < 0) p.Add("dispatch.retry_delay_ms must be >= 0");
        if (Dispatch.TickMs is < 10 or > 1000) p.Add("dispatch.tick_ms must be within 10..1000");
        Gate.Validate(p);
        Confirmation.Validate(p);
        EmergencyQuestion.Validate(p);
        return p;
    }

    public TimeSpan MaxAge(SignalDefinition signal) => TimeSpan.FromMilliseconds(MaxAgeMs[signal.Name]);

    public TimeSpan Budget(string path) => TimeSpan.FromMilliseconds(BudgetsMs[path]);
}

/// <summary>How far telemetry time is trusted, and how loudly bad telemetry is logged.</summary>
public sealed class TelemetryOptions
{
    /// <summary>
    /// The most a source's <c>ts_ms</c> may run ahead of the agent's clock (beyond it: rejected as <c>future</c>), and
    /// the largest step back that still counts as a reordering (<c>out_of_order</c>) rather than a clock step (resync).
    /// It also bounds how long one message stamped ahead can hold later ones off as out of order.
    /// </summary>
    public int MaxClockSkewMs { get; init; } = 2000;

    /// <summary>At most this many warning lines per reason per <see cref="RejectionLogIntervalMs"/>; the counters keep the total.</summary>
    public int RejectionLogMaxLines { get; init; } = 5;

    public int RejectionLogIntervalMs { get; init; } = 10_000;

    internal void Validate(List<string> p)
    {
        if (MaxClockSkewMs is < 1 or > 3_600_000) p.Add("telemetry.max_clock_skew_ms must be within 1..3600000");
        if (RejectionLogMaxLines < 1) p.Add("telemetry.rejection_log_max_lines must be >= 1");
        if (RejectionLogIntervalMs < 1) p.Add("telemetry.rejection_log_interval_ms must be >= 1");
    }
}

public sealed class SafetyConfigException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A sentence in both languages; <c>{name}</c> placeholders are filled by the rule that speaks it.</summary>
public sealed class Spoken
{
    public string Zh { get; init; } = "";
    public string En { get; init; } = "";

    public string In(string lang) => lang == "en" ? En : Zh;

    internal void Validate(List<string> problems, string where)
    {
        if (string.IsNullOrWhiteSpace(Zh) || string.IsNullOrWhiteSpace(En))
            problems.Add($"{where}: needs both zh and en text");
    }
}

public sealed class AlertRulesOptions
{
    public OverspeedOptions Overspeed { get; init; } = new();
    public FatigueOptions Fatigue { get; init; } = new();
    public MovingRuleOptions SeatbeltUnfastened { get; init; } = new();
    public MovingRuleOptions DoorOpenMoving { get; init; } = new();
    public ClockFaultOptions TelemetryClockFault { get; init; } = new();
    public CrashCallOptions CrashCall { get; init; } = new();

    internal void Validate(List<string> p)
    {
        TelemetryClockFault.Validate(p);
        Overspeed.Validate(p);
        Fatigue.Validate(p);
        SeatbeltUnfastened.Validate(p, "alerts.seatbelt_unfastened");
        DoorOpenMoving.Validate(p, "alerts.door_open_moving");
        CrashCall.Validate(p);
    }
}

/// <summary>
/// The crash signal (eCall): <c>airbag_deployed</c> or <c>crash_detected</c> turning true calls emergency services by
/// itself after a window in which the driver can cancel (EU eCall: about 10 s), because a driver after a crash may be
/// unable to speak. A "stop from speed" (from at least <see cref="StopFromSpeedKmh"/> to at most
/// <see cref="StoppedSpeedKmh"/> within <see cref="StopWithinMs"/>) is the weaker sign an unanswered emergency question
/// needs before it calls on silence.
/// </summary>
public sealed class CrashCallOptions
{
    public int CancelWindowMs { get; init; } = 10_000;
    public string Service { get; init; } = "general";
    public double StopFromSpeedKmh { get; init; } = 30;
    public double StoppedSpeedKmh { get; init; } = 3;
    public int StopWithinMs { get; init; } = 15_000;
    /// <summary>What cancels the countdown, besides the confirmation "no" words ("I'm fine", "我没事").</summary>
    public List<string> CancelWords { get; init; } = [];
    public Spoken SpokenCountdown { get; init; } = new();
    public Spoken SpokenCalling { get; init; } = new();
    public Spoken SpokenPosition { get; init; } = new();
    public Spoken SpokenCancelled { get; init; } = new();

    internal void Validate(List<string> p)
    {
        if (CancelWindowMs is < 0 or > 60_000) p.Add("alerts.crash_call.cancel_window_ms must be within 0..60000");
        if (Service is not ("fire" or "ambulance" or "police" or "general")) p.Add("alerts.crash_call.service must be fire, ambulance, police or general");
        if (StoppedSpeedKmh < 0 || StoppedSpeedKmh >= StopFromSpeedKmh) p.Add("alerts.crash_call.stopped_speed_kmh must be >= 0 and below stop_from_speed_kmh");
        if (StopWithinMs <= 0) p.Add("alerts.crash_call.stop_within_ms must be > 0");
        if (CancelWords.Count == 0) p.Add("alerts.crash_call.cancel_words must list at least one word");
        SpokenCountdown.Validate(p, "alerts.crash_call.spoken_countdown");
        SpokenCalling.Validate(p, "alerts.crash_call.spoken_calling");
        SpokenPosition.Validate(p, "alerts.crash_call.spoken_position");
        SpokenCancelled.Validate(p, "alerts.crash_call.spoken_cancelled");
    }
}

/// <summary>
/// The question asked when the driver names an emergency without enough to act on ("I think we hit something"):
/// yes calls, no cancels, and silence past <see cref="TimeoutMs"/> calls only when the vehicle also shows a crash or a
/// stop from speed (then the driver may be unable to answer); otherwise <see cref="SpokenNoCall"/> is said.
/// </summary>
public sealed class EmergencyQuestionOptions
{
    public int TimeoutMs { get; init; } = 8000;
    public Spoken Spoken { get; init; } = new();
    public Spoken SpokenNoCall { get; init; } = new();

    internal void Validate(List<string> p)
    {
        if (TimeoutMs is < 1000 or > 60_000) p.Add("emergency_question.timeout_ms must be within 1000..60000");
        Spoken.Validate(p, "emergency_question.spoken");
        SpokenNoCall.Validate(p, "emergency_question.spoken_no_call");
    }
}

/// <summary>Overspeed: speed above limit + tolerance for <see cref="HoldMs"/>; clears at limit + tolerance − hysteresis.</summary>
public sealed class OverspeedOptions
{
    public double ToleranceKmh { get; init; } = 5;
    public double HysteresisKmh { get; init; } = 3;
    public int HoldMs { get; init; } = 3000;
    public int RealertMs { get; init; } = 30_000;
    /// <summary>At or above limit + this many km/h the alert is critical instead of a warning.</summary>
    public double CriticalOverKmh { get; init; } = 30;
    public Spoken Spoken { get; init; } = new();

    internal void Validate(List<string> p)
    {
        if (ToleranceKmh < 0) p.Add("alerts.overspeed.tolerance_kmh must be >= 0");
        if (HysteresisKmh < 0) p.Add("alerts.overspeed.hysteresis_kmh must be >= 0");
        if (HoldMs is < 0 or > SafetyOptions.MaxHoldMs) p.Add($"alerts.overspeed.hold_ms must be within 0..{SafetyOptions.MaxHoldMs}");
        if (RealertMs <= 0) p.Add("alerts.overspeed.realert_ms must be > 0");
        if (CriticalOverKmh <= ToleranceKmh) p.Add("alerts.overspeed.critical_over_kmh must exceed tolerance_kmh");
        Spoken.Validate(p, "alerts.overspeed.spoken");
    }
}

/// <summary>
/// The diagnostic alert for a telemetry source whose <c>ts_ms</c> runs ahead of the agent's clock: that signal is being
/// rejected, so the rules that need it cannot judge. Raised once per fault episode per signal; a new episode of the same
/// signal within <see cref="RealertMs"/> of its last alert is not spoken again (a clock flapping at the window's edge).
/// </summary>
public sealed class ClockFaultOptions
{
    public int RealertMs { get; init; } = 60_000;
    public Spoken Spoken { get; init; } = new();

    internal void Validate(List<string> p)
    {
        if (RealertMs <= 0) p.Add("alerts.telemetry_clock_fault.realert_ms must be > 0");
        Spoken.Validate(p, "alerts.telemetry_clock_fault.spoken");
    }
}

/// <summary>Fatigue: the DMS level at or over a threshold, or continuous driving over a time; both suggest a rest area.</summary>
public sealed class FatigueOptions
{
    public int LevelThreshold { get; init; } = 2;
    /// <summary>The level alert clears only when the level falls to this or below (hysteresis).</summary>
    public int ClearAtOrBelowLevel { get; init; } = 0;
    /// <summary>At or above this level the alert is critical.</summary>
    public int CriticalLevel { get; init; } = 3;
    public double MaxDrivingMinutes { get; init; } = 120;
    /// <summary>The driving-time alert clears when driving_minutes falls below max − this (the ECU resets it after a stop).</summary>
    public double DrivingMinutesHysteresis { get; init; } = 10;
    public int RealertMs { get; init; } = 300_000;
    /// <summary>Category of the suggested <c>NAV_FIND_NEARBY</c>.</summary>
    public string SuggestCategory { get; init; } = "rest_area";
    public Spoken SpokenLevel { get; init; } = new();
    public Spoken SpokenDrivingTime { get; init; } = new();

    internal void Validate(List<string> p)
    {
        if (LevelThreshold is < 1 or > 3) p.Add("alerts.fatigue.level_threshold must be within 1..3");
        if (ClearAtOrBelowLevel < 0 || ClearAtOrBelowLevel >= LevelThreshold)
            p.Add("alerts.fatigue.clear_at_or_below_level must be >= 0 and below level_threshold");
        if (CriticalLevel < LevelThreshold) p.Add("alerts.fatigue.critical_level must be >= level_threshold");
        if (MaxDrivingMinutes <= 0) p.Add("alerts.fatigue.max_driving_minutes must be > 0");
        if (DrivingMinutesHysteresis < 0 || DrivingMinutesHysteresis >= MaxDrivingMinutes)
            p.Add("alerts.fatigue.driving_minutes_hysteresis must be within 0..max_driving_minutes");
        if (RealertMs <= 0) p.Add("alerts.fatigue.realert_ms must be > 0");
        if (string.IsNullOrWhiteSpace(SuggestCategory)) p.Add("alerts.fatigue.suggest_category missing");
        SpokenLevel.Validate(p, "alerts.fatigue.spoken_level");
        SpokenDrivingTime.Validate(p, "alerts.fatigue.spoken_driving_time");
    }
}

/// <summary>
/// A condition that matters only while the car moves (belt, door). Moving starts above
/// <see cref="MovingSpeedKmh"/> and ends below <see cref="StoppedSpeedKmh"/> (hysteresis on speed).
/// </summary>
public sealed class MovingRuleOptions
{
    /// <summary>"Moving" above this: a door or belt rule that only starts at motorway speed is a rule switched off.</summary>
    internal const double MaxMovingSpeedKmh = 30;

    public double MovingSpeedKmh { get; init; } = 10;
    public double StoppedSpeedKmh { get; init; } = 5;
    public int HoldMs { get; init; }
    public int RealertMs { get; init; } = 20_000;
    public AlertSeverity Severity { get; init; } = AlertSeverity.Warning;
    public Spoken Spoken { get; init; } = new();

    internal void Validate(List<string> p, string where)
    {
        if (MovingSpeedKmh is <= 0 or > MaxMovingSpeedKmh) p.Add($"{where}.moving_speed_kmh must be within (0, {MaxMovingSpeedKmh}]");
        if (StoppedSpeedKmh < 0 || StoppedSpeedKmh > MovingSpeedKmh) p.Add($"{where}.stopped_speed_kmh must be within 0..moving_speed_kmh");
        if (HoldMs is < 0 or > SafetyOptions.MaxHoldMs) p.Add($"{where}.hold_ms must be within 0..{SafetyOptions.MaxHoldMs}");
        if (Severity == AlertSeverity.Info) p.Add($"{where}.severity must be warning or critical (an info alert is not spoken)");
        if (RealertMs <= 0) p.Add($"{where}.realert_ms must be > 0");
        Spoken.Validate(p, $"{where}.spoken");
    }
}

public sealed class DispatchOptions
{
    /// <summary>Outbound alerts waiting for the sink. Full means the sink is stuck: evaluation keeps the alert
    /// due and retries it, it never blocks and never drops one.</summary>
    public int QueueCapacity { get; init; } = 256;
    public int PublishAttempts { get; init; } = 3;
    public int RetryDelayMs { get; init; } = 50;
    /// <summary>Longest wait between time-based evaluations (hold times, re-alerts, confirmation timeouts).</summary>
    public int TickMs { get; init; } = 100;
}
