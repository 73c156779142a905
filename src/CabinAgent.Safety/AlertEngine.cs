using System.Globalization;
using System.Text.Json.Nodes;
using CabinAgent.Actions;
using Microsoft.Extensions.Logging;

namespace CabinAgent.Safety;

/// <summary>Why a rule is in its current condition, for status output and logs.</summary>
public sealed record RuleStatus(string Rule, string Kind, Condition Condition, bool Active, string Detail);

/// <summary>
/// The telemetry alert rules: overspeed, fatigue (DMS level and continuous driving time), seat belt unfastened
/// while moving, door open while moving. Thresholds are data (<see cref="AlertRulesOptions"/>); this code only
/// compares numbers. Not thread-safe: <see cref="SafetyLayer"/> serialises access.
/// </summary>
internal sealed class AlertEngine
{
    private readonly AlertRulesOptions _o;
    private readonly ActionCatalog _catalog;
    private readonly VehicleStateStore _store;
    private readonly SafetyCounters _counters;
    private readonly ILogger _log;
    private readonly Rule[] _rules;

    private sealed class Rule(string id, string kind, RuleTracker tracker)
    {
        public string Id { get; } = id;
        public string Kind { get; } = kind;
        public RuleTracker Tracker { get; } = tracker;
        public string Detail { get; set; } = "not evaluated yet";
        /// <summary>Movement with hysteresis, for the rules that only matter while moving.</summary>
        public bool Moving { get; set; }
    }

    private const string OverspeedRule = "overspeed";
    private const string FatigueLevelRule = "fatigue_level";
    private const string FatigueTimeRule = "fatigue_driving_time";
    private const string SeatbeltRule = "seatbelt_unfastened";
    private const string DoorRule = "door_open_moving";

    public AlertEngine(AlertRulesOptions options, ActionCatalog catalog, VehicleStateStore store, SafetyCounters counters, ILogger log)
    {
        _o = options;
        _catalog = catalog;
        _store = store;
        _counters = counters;
        _log = log;
        static TimeSpan Ms(int ms) => TimeSpan.FromMilliseconds(ms);
        _rules =
        [
            new(OverspeedRule, AlertKinds.Overspeed, new(OverspeedRule, Ms(options.Overspeed.HoldMs), Ms(options.Overspeed.RealertMs))),
            new(FatigueLevelRule, AlertKinds.Fatigue, new(FatigueLevelRule, TimeSpan.Zero, Ms(options.Fatigue.RealertMs))),
            new(FatigueTimeRule, AlertKinds.Fatigue, new(FatigueTimeRule, TimeSpan.Zero, Ms(options.Fatigue.RealertMs))),
            new(SeatbeltRule, AlertKinds.SeatbeltUnfastened,
                new(SeatbeltRule, Ms(options.SeatbeltUnfastened.HoldMs), Ms(options.SeatbeltUnfastened.RealertMs))),
            new(DoorRule, AlertKinds.DoorOpenMoving, new(DoorRule, Ms(options.DoorOpenMoving.HoldMs), Ms(options.DoorOpenMoving.RealertMs))),
        ];
    }

    /// <summary>Evaluates every rule at <paramref name="now"/>; each alert due is offered to <paramref name="post"/>,
    /// which returns false when it could not take it (the rule then retries later).</summary>
    public void Evaluate(DateTimeOffset now, string lang, Func<SafetyAlert, bool> post)
    {
        foreach (var rule in _rules)
        {
            // The cheap pass decides; texts and state objects are only built when something changes or fires,
            // so a telemetry flood allocates next to nothing here.
            var eval = Run(rule, now, full: false, commit: true);
            var before = rule.Tracker.LastCondition;
            if (eval.Condition != before)
            {
                eval = Run(rule, now, full: true, commit: false);
                rule.Detail = eval.Detail!;
                if (eval.Condition == Condition.Unknown)
                {
                    _counters.Increment($"{CounterNames.RuleStateUnknown}.{rule.Id}");
                    _log.LogInformation("safety rule {Rule} cannot be evaluated: {Detail}", rule.Id, eval.Detail);
                }
            }
            var due = rule.Tracker.Update(eval.Condition, eval.Severity, now, out var suppressed);
            if (suppressed)
            {
                _counters.Increment($"{CounterNames.AlertsSuppressed}.{rule.Kind}");
                _log.LogDebug("safety rule {Rule} re-activated inside its re-alert interval: not repeated", rule.Id);
            }
            if (before == Condition.Raised && eval.Condition == Condition.Clear)
                _log.LogInformation("safety rule {Rule} cleared: {Detail}", rule.Id, eval.Detail);
            if (due is null) continue;

            if (eval.Detail is null) eval = Run(rule, now, full: true, commit: false);
            rule.Detail = eval.Detail!;
            var alert = Build(rule, eval, lang, due.Value, repeat: rule.Tracker.IsActive);
            if (post(alert))
            {
                rule.Tracker.Fired(eval.Severity, now);
                _counters.Increment($"{CounterNames.AlertsRaised}.{rule.Kind}");
                _log.LogWarning("safety alert {Kind}/{Rule} ({Severity}): {Reason}", alert.Kind, alert.Rule, alert.Severity, alert.Reason);
            }
            else
            {
                rule.Tracker.PostFailed(now);
                _counters.Increment($"{CounterNames.AlertsQueueFull}.{rule.Kind}");
                _log.LogError("safety alert {Kind} could not be queued (alert sink stuck); retrying", alert.Kind);
            }
        }
    }

    /// <summary>Signals no alert rule reads (fuel, battery, tire pressure, gear): receiving them needs no evaluation.</summary>
    public static bool Uses(SignalDefinition signal) => signal.Name is TelemetrySignals.SpeedKmh or TelemetrySignals.SpeedLimitKmh
        or TelemetrySignals.DriverFatigueLevel or TelemetrySignals.DrivingMinutes or TelemetrySignals.SeatBeltDriver
        or TelemetrySignals.SeatBeltPassenger or TelemetrySignals.DoorOpen;

    public DateTimeOffset? NextDue()
    {
        DateTimeOffset? next = null;
        foreach (var rule in _rules)
            if (rule.Tracker.NextDue() is { } due && (next is null || due < next)) next = due;
        return next;
    }

    /// <summary>Each rule as of the last evaluation, with its detail recomputed at <paramref name="now"/>.</summary>
    public IReadOnlyList<RuleStatus> Status(DateTimeOffset now) =>
        _rules.Select(r => new RuleStatus(r.Id, r.Kind, r.Tracker.LastCondition, r.Tracker.IsActive,
            Run(r, now, full: true, commit: false).Detail!)).ToList();

    /// <param name="full">Also build the detail text, state and spoken values (only needed when something changes).</param>
    /// <param name="commit">Update the rule's movement hysteresis (once per evaluation, in the cheap pass).</param>
    private Eval Run(Rule rule, DateTimeOffset now, bool full, bool commit) => rule.Id switch
    {
        OverspeedRule => Overspeed(now, full),
        FatigueLevelRule => FatigueLevel(now, full),
        FatigueTimeRule => FatigueTime(now, full),
        SeatbeltRule => Seatbelt(rule, now, full, commit),
        _ => Door(rule, now, full, commit),
    };

    private readonly record struct Eval(Condition Condition, AlertSeverity Severity, string? Detail, JsonObject? State,
        Dictionary<string, string>? Values);

    private static Eval Unknown(string? detail) => new(Condition.Unknown, AlertSeverity.Info, detail, null, null);

    private static Eval Brief(Condition condition, AlertSeverity severity) => new(condition, severity, null, null, null);

    private static string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);

    private Eval Overspeed(DateTimeOffset now, bool full)
    {
        var o = _o.Overspeed;
        var speed = _store.Read(TelemetrySignals.SpeedKmh, now);
        var limit = _store.Read(TelemetrySignals.SpeedLimitKmh, now);
        if (!speed.IsFresh) return Unknown(full ? speed.Describe(now) : null);
        if (!limit.IsFresh) return Unknown(full ? limit.Describe(now) : null);
        if (limit.Value <= 0) return Unknown("no posted speed limit");
        var over = speed.Value - limit.Value;
        var condition = over > o.ToleranceKmh ? Condition.Raised
            : over <= o.ToleranceKmh - o.HysteresisKmh ? Condition.Clear : Condition.Band;
        var severity = over >= o.CriticalOverKmh ? AlertSeverity.Critical : AlertSeverity.Warning;
        if (!full) return Brief(condition, severity);
        var state = new JsonObject { [TelemetrySignals.SpeedKmh] = speed.Value, [TelemetrySignals.SpeedLimitKmh] = limit.Value };
        var detail = $"speed {F(speed.Value)} km/h, limit {F(limit.Value)} km/h, tolerance {F(o.ToleranceKmh)}";
        return new Eval(condition, severity, detail, state,
            new() { ["speed"] = F(speed.Value), ["limit"] = F(limit.Value), ["over"] = F(over) });
    }

    private Eval FatigueLevel(DateTimeOffset now, bool full)
    {
        var o = _o.Fatigue;
        var level = _store.Read(TelemetrySignals.DriverFatigueLevel, now);
        if (!level.IsFresh) return Unknown(full ? level.Describe(now) : null);
        var l = (int)level.Value;
        var condition = l >= o.LevelThreshold ? Condition.Raised : l <= o.ClearAtOrBelowLevel ? Condition.Clear : Condition.Band;
        var severity = l >= o.CriticalLevel ? AlertSeverity.Critical : AlertSeverity.Warning;
        if (!full) return Brief(condition, severity);
        return new Eval(condition, severity, $"driver fatigue level {l} (threshold {o.LevelThreshold})",
            new JsonObject { [TelemetrySignals.DriverFatigueLevel] = l },
            new() { ["level"] = l.ToString(CultureInfo.InvariantCulture) });
    }

    private Eval FatigueTime(DateTimeOffset now, bool full)
    {
        var o = _o.Fatigue;
        var minutes = _store.Read(TelemetrySignals.DrivingMinutes, now);
        if (!minutes.IsFresh) return Unknown(full ? minutes.Describe(now) : null);
        var m = minutes.Value;
        var condition = m >= o.MaxDrivingMinutes ? Condition.Raised
            : m < o.MaxDrivingMinutes - o.DrivingMinutesHysteresis ? Condition.Clear : Condition.Band;
        if (!full) return Brief(condition, AlertSeverity.Warning);
        return new Eval(condition, AlertSeverity.Warning, $"continuous driving {F(m)} min (limit {F(o.MaxDrivingMinutes)})",
            new JsonObject { [TelemetrySignals.DrivingMinutes] = m },
            new() { ["minutes"] = F(Math.Floor(m)), ["hours"] = F(Math.Floor(m / 60)) });
    }

    /// <summary>Moving with hysteresis: starts at ≥ moving speed, ends below stopped speed, else unchanged.</summary>
    private static bool? Moving(Rule rule, MovingRuleOptions o, SignalReading speed, bool commit)
    {
        if (!speed.IsFresh) return null;
        var moving = speed.Value >= o.MovingSpeedKmh || (speed.Value >= o.StoppedSpeedKmh && rule.Moving);
        if (commit) rule.Moving = moving;
        return moving;
    }

    private Eval Seatbelt(Rule rule, DateTimeOffset now, bool full, bool commit)
    {
        var o = _o.SeatbeltUnfastened;
        var speed = _store.Read(TelemetrySignals.SpeedKmh, now);
        var moving = Moving(rule, o, speed, commit);
        if (moving is null) return Unknown(full ? speed.Describe(now) : null);
        if (moving == false) return new Eval(Condition.Clear, o.Severity, full ? $"not moving (speed {F(speed.Value)} km/h)" : null, null, null);

        var driver = _store.Read(TelemetrySignals.SeatBeltDriver, now);
        var passenger = _store.Read(TelemetrySignals.SeatBeltPassenger, now);
        var driverOpen = driver.IsFresh && !driver.AsBool;
        var passengerOpen = passenger.IsFresh && !passenger.AsBool;
        if (!driverOpen && !passengerOpen)
        {
            if (!driver.IsFresh) return Unknown(full ? driver.Describe(now) : null);
            if (!passenger.IsFresh) return Unknown(full ? passenger.Describe(now) : null);
            return new Eval(Condition.Clear, o.Severity, "belts fastened", null, null);
        }
        if (!full) return Brief(Condition.Raised, o.Severity);
        var unfastened = new List<string>(2);
        if (driverOpen) unfastened.Add("driver");
        if (passengerOpen) unfastened.Add("passenger");
        var state = new JsonObject { [TelemetrySignals.SpeedKmh] = speed.Value };
        if (driver.IsFresh) state[TelemetrySignals.SeatBeltDriver] = driver.AsBool;
        if (passenger.IsFresh) state[TelemetrySignals.SeatBeltPassenger] = passenger.AsBool;
        var zh = string.Join("和", unfastened.Select(s => _catalog.Speak(s, "zh")));
        var en = string.Join(" and ", unfastened.Select(s => _catalog.Speak(s, "en")));
        return new Eval(Condition.Raised, o.Severity,
            $"{string.Join(" and ", unfastened)} belt unfastened at {F(speed.Value)} km/h", state,
            new() { ["speed"] = F(speed.Value), ["seat_zh"] = zh, ["seat_en"] = en });
    }

    private Eval Door(Rule rule, DateTimeOffset now, bool full, bool commit)
    {
        var o = _o.DoorOpenMoving;
        var speed = _store.Read(TelemetrySignals.SpeedKmh, now);
        var moving = Moving(rule, o, speed, commit);
        if (moving is null) return Unknown(full ? speed.Describe(now) : null);
        if (moving == false) return new Eval(Condition.Clear, o.Severity, full ? $"not moving (speed {F(speed.Value)} km/h)" : null, null, null);
        var door = _store.Read(TelemetrySignals.DoorOpen, now);
        if (!door.IsFresh) return Unknown(full ? door.Describe(now) : null);
        if (!door.AsBool) return new Eval(Condition.Clear, o.Severity, "doors closed", null, null);
        if (!full) return Brief(Condition.Raised, o.Severity);
        return new Eval(Condition.Raised, o.Severity, $"door open at {F(speed.Value)} km/h",
            new JsonObject { [TelemetrySignals.SpeedKmh] = speed.Value, [TelemetrySignals.DoorOpen] = true },
            new() { ["speed"] = F(speed.Value) });
    }

    private SafetyAlert Build(Rule rule, Eval eval, string lang, DateTimeOffset due, bool repeat)
    {
        var spoken = rule.Id switch
        {
            OverspeedRule => _o.Overspeed.Spoken,
            FatigueLevelRule => _o.Fatigue.SpokenLevel,
            FatigueTimeRule => _o.Fatigue.SpokenDrivingTime,
            SeatbeltRule => _o.SeatbeltUnfastened.Spoken,
            _ => _o.DoorOpenMoving.Spoken,
        };
        VehicleCommand? suggested = null;
        if (rule.Kind == AlertKinds.Fatigue)
            suggested = SuggestRestArea(lang);
        return new SafetyAlert(rule.Kind, rule.Id, eval.Severity, eval.Detail ?? "", eval.State ?? new JsonObject(),
            Fill(spoken.Zh, eval.Values, "zh"), Fill(spoken.En, eval.Values, "en"), lang, due, suggested, repeat);
    }

    private VehicleCommand SuggestRestArea(string lang)
    {
        var action = _catalog.Get("NAV_FIND_NEARBY");
        var parameters = new JsonObject { ["category"] = _o.Fatigue.SuggestCategory };
        return new VehicleCommand
        {
            Action = action.Name,
            Parameters = parameters,
            Response = ResponseRenderer.Render(_catalog, action, parameters, lang),
            Confidence = 1.0,
            RequiresConfirmation = action.RequiresConfirmation,
        };
    }

    /// <summary>Fills <c>{name}</c>; <c>{seat}</c> picks the language-specific value (<c>seat_zh</c>/<c>seat_en</c>).</summary>
    internal static string Fill(string template, Dictionary<string, string>? values, string lang)
    {
        if (values is null || template.IndexOf('{') < 0) return template;
        var text = template;
        foreach (var (key, value) in values)
        {
            var name = key.EndsWith("_" + lang, StringComparison.Ordinal) ? key[..^(lang.Length + 1)] : key;
            text = text.Replace("{" + name + "}", value, StringComparison.Ordinal);
        }
        return text;
    }
}
