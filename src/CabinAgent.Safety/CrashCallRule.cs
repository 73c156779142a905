using System.Globalization;
using System.Text.Json.Nodes;
using CabinAgent.Actions;

namespace CabinAgent.Safety;

/// <summary>
/// The crash signal (eCall): when <c>airbag_deployed</c> or <c>crash_detected</c> turns true, the driver hears a
/// countdown and, unless they cancel within the window, <c>EMERGENCY_CALL</c> goes out by itself with the last known
/// position — a driver after a crash may be unable to ask. A signal that stays true calls once; it must turn false
/// (or be absent) before it can call again. It also remembers the last time the car was fast, so an unanswered
/// emergency question can tell a stop from speed. <see cref="Evaluate"/>, <see cref="CrashOrStop"/> and
/// <see cref="CallAlert"/> read the state store and run under the layer's state lock; the countdown itself
/// (<see cref="Pending"/>, <see cref="Cancel"/>, <see cref="Superseded"/>) has a lock of its own, so the driver's
/// "cancel" or "help" on the dialogue path never waits for a telemetry evaluation.
/// </summary>
internal sealed class CrashCallRule(CrashCallOptions options, VehicleStateStore store, SafetyCounters counters)
{
    public const string CountdownRule = "crash_countdown";
    public const string CallRule = "crash_call";
    public const string QuestionTimeoutRule = "emergency_question_timeout";

    private readonly Lock _countdown = new();
    private bool _signalOn;
    private DateTimeOffset? _deadline; // under _countdown
    private string _trigger = "";
    private DateTimeOffset _triggeredAt;
    private DateTimeOffset? _lastFastAt;

    public static bool Uses(SignalDefinition signal) => signal.Name is TelemetrySignals.AirbagDeployed
        or TelemetrySignals.CrashDetected or TelemetrySignals.SpeedKmh;

    /// <summary>True while the countdown runs (the driver can still cancel).</summary>
    public bool Pending { get { lock (_countdown) return _deadline is not null; } }

    public DateTimeOffset? NextDue() { lock (_countdown) return _deadline; }

    /// <param name="call">Builds the <c>EMERGENCY_CALL</c> for a service in a language.</param>
    public void Evaluate(DateTimeOffset now, string lang, Func<SafetyAlert, bool> post, Func<string, string, VehicleCommand> call)
    {
        var speed = store.Read(TelemetrySignals.SpeedKmh, now);
        if (speed.IsFresh && speed.Value >= options.StopFromSpeedKmh) _lastFastAt = now;

        var (on, fresh, signal) = CrashSignal(now);
        var started = false;
        if (on && !_signalOn && fresh)
            lock (_countdown)
                if (_deadline is null)
                {
                    _trigger = signal;
                    _triggeredAt = now;
                    _deadline = now + TimeSpan.FromMilliseconds(options.CancelWindowMs);
                    started = true;
                }
        if (started)
        {
            counters.Increment($"{CounterNames.CrashCall}.countdown");
            if (options.CancelWindowMs > 0)
            {
                var seconds = (options.CancelWindowMs / 1000.0).ToString("0.#", CultureInfo.InvariantCulture);
                var values = new Dictionary<string, string> { ["seconds"] = seconds };
                // Best effort: if the outbox is full the countdown is not spoken, but the call still goes out on time.
                post(new SafetyAlert(AlertKinds.CrashCall, CountdownRule, AlertSeverity.Critical,
                    $"{signal} true; calling in {seconds} s unless the driver cancels", State(now),
                    AlertEngine.Fill(options.SpokenCountdown.Zh, values, "zh"), AlertEngine.Fill(options.SpokenCountdown.En, values, "en"),
                    lang, now, null, false));
            }
        }
        _signalOn = on;

        if (NextDue() is { } due && now >= due)
        {
            var alert = CallAlert(CallRule, $"{_trigger} at {_triggeredAt.ToUnixTimeMilliseconds()}, not cancelled within {options.CancelWindowMs} ms",
                options.Service, lang, due, now, call);
            // A cancel that landed while the alert was built wins: the call is only posted if the countdown still runs.
            lock (_countdown)
            {
                if (_deadline != due) return;
                if (!post(alert))
                {
                    counters.Increment($"{CounterNames.AlertsQueueFull}.{AlertKinds.CrashCall}"); // retried on the next tick
                    return;
                }
                _deadline = null;
            }
            counters.Increment($"{CounterNames.CrashCall}.called");
        }
    }

    /// <summary>The driver cancelled in the window. False when no countdown was running.</summary>
    public bool Cancel()
    {
        lock (_countdown)
        {
            if (_deadline is null) return false;
            _deadline = null;
        }
        counters.Increment($"{CounterNames.CrashCall}.cancelled");
        return true;
    }

    /// <summary>The driver asked for help during the countdown: their own call replaces the automatic one.</summary>
    public void Superseded()
    {
        lock (_countdown) _deadline = null;
    }

    /// <summary>Does the vehicle show a crash (a fresh crash signal) or a stop from speed? Says which, or null.</summary>
    public string? CrashOrStop(DateTimeOffset now)
    {
        var (on, fresh, signal) = CrashSignal(now);
        if (on && fresh) return $"{signal} true";
        var speed = store.Read(TelemetrySignals.SpeedKmh, now);
        if (speed.IsFresh && speed.Value <= options.StoppedSpeedKmh && _lastFastAt is { } fast
            && now - fast <= TimeSpan.FromMilliseconds(options.StopWithinMs))
            return string.Create(CultureInfo.InvariantCulture,
                $"stopped ({speed.Value:0.#} km/h) {(now - fast).TotalSeconds:0.0} s after {options.StopFromSpeedKmh:0.#} km/h or more");
        return null;
    }

    /// <summary>An alert that places the call, with the last known position (stale or not: it is the best there is).</summary>
    public SafetyAlert CallAlert(string rule, string reason, string service, string lang, DateTimeOffset due, DateTimeOffset now,
        Func<string, string, VehicleCommand> call)
    {
        var state = State(now);
        var lat = store.Read(TelemetrySignals.PositionLat, now);
        var lon = store.Read(TelemetrySignals.PositionLon, now);
        var known = lat.Status != SignalStatus.Missing && lon.Status != SignalStatus.Missing;
        if (known)
            reason += string.Create(CultureInfo.InvariantCulture,
                $"; position {lat.Value:0.######},{lon.Value:0.######} received {(now - lat.ReceivedAt).TotalSeconds:0.0} s ago");
        else reason += "; position unknown";
        var values = new Dictionary<string, string>
        {
            ["position_zh"] = known ? options.SpokenPosition.Zh : "",
            ["position_en"] = known ? options.SpokenPosition.En : "",
        };
        return new SafetyAlert(AlertKinds.CrashCall, rule, AlertSeverity.Critical, reason, state,
            AlertEngine.Fill(options.SpokenCalling.Zh, values, "zh"), AlertEngine.Fill(options.SpokenCalling.En, values, "en"),
            lang, due, null, false, call(service, lang));
    }

    private (bool On, bool Fresh, string Signal) CrashSignal(DateTimeOffset now)
    {
        foreach (var name in (ReadOnlySpan<string>)[TelemetrySignals.AirbagDeployed, TelemetrySignals.CrashDetected])
        {
            var r = store.Read(name, now);
            // Present and true, fresh or not: a signal that stays true must not call again when it goes stale.
            if (r.Status != SignalStatus.Missing && r.AsBool) return (true, r.IsFresh, name);
        }
        return (false, false, "");
    }

    private JsonObject State(DateTimeOffset now)
    {
        var state = new JsonObject();
        foreach (var name in (ReadOnlySpan<string>)[TelemetrySignals.AirbagDeployed, TelemetrySignals.CrashDetected,
                     TelemetrySignals.SpeedKmh, TelemetrySignals.PositionLat, TelemetrySignals.PositionLon])
            if (store.Read(name, now).ToJson() is { } value) state[name] = value;
        return state;
    }
}
