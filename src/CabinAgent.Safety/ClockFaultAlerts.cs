using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace CabinAgent.Safety;

/// <summary>
/// The <c>telemetry_clock_fault</c> diagnostic alert. A signal whose source stamps run further ahead of our clock than
/// the skew window is rejected (<c>future</c>), so the rules that need it cannot judge: the driver and diagnostics must
/// be told, but a broken ECU clock sending ten messages a second must not become ten alerts a second.
/// One alert per fault episode per signal: an episode starts with the signal's first <c>future</c> rejection and ends
/// with its next accepted stamped message (its clock is back within the window). A new episode of the same signal
/// within <see cref="ClockFaultOptions.RealertMs"/> of its last alert is counted, not spoken (a clock flapping at the
/// window's edge). An alert the outbox cannot take is retried on the signal's next <c>future</c> message.
/// Event-driven rather than a <see cref="RuleTracker"/> rule: there is no state to hold a condition on, only rejections.
/// Not thread-safe: <see cref="SafetyLayer"/> serialises access.
/// </summary>
internal sealed class ClockFaultAlerts(ClockFaultOptions options, SafetyCounters counters, ILogger log)
{
    private readonly bool[] _inEpisode = new bool[TelemetrySignals.All.Count];
    private readonly bool[] _announced = new bool[TelemetrySignals.All.Count];
    private readonly DateTimeOffset?[] _lastAlertAt = new DateTimeOffset?[TelemetrySignals.All.Count];
    private readonly TimeSpan _realert = TimeSpan.FromMilliseconds(options.RealertMs);

    /// <summary>Sees every ingest result of a known signal; posts the alert through <paramref name="post"/> when one is due.</summary>
    public void Observe(IngestResult result, DateTimeOffset now, string lang, Func<SafetyAlert, bool> post)
    {
        if (result.Signal is not { } signal) return;
        var i = signal.Index;
        if (result.Rejection != TelemetryRejection.Future)
        {
            if (result.Accepted && result.TsMs is not null && _inEpisode[i])
            {
                _inEpisode[i] = false;
                log.LogInformation("telemetry clock of {Signal} is back within the skew window", signal.Name);
            }
            return;
        }
        if (!_inEpisode[i])
        {
            _inEpisode[i] = true;
            _announced[i] = false;
        }
        if (_announced[i]) return;
        if (_lastAlertAt[i] is { } last && now >= last && now - last < _realert)
        {
            _announced[i] = true;
            counters.Increment($"{CounterNames.AlertsSuppressed}.{AlertKinds.TelemetryClockFault}");
            log.LogDebug("telemetry clock fault of {Signal} again inside its re-alert interval: not repeated", signal.Name);
            return;
        }
        var alert = new SafetyAlert(AlertKinds.TelemetryClockFault, AlertKinds.TelemetryClockFault, AlertSeverity.Info,
            result.Reason!, new JsonObject { ["signal"] = signal.Name, ["ts_ms"] = result.TsMs, ["received_ms"] = now.ToUnixTimeMilliseconds() },
            options.Spoken.Zh, options.Spoken.En, lang, now, Suggested: null, Repeat: false);
        if (post(alert))
        {
            _announced[i] = true;
            _lastAlertAt[i] = now;
            counters.Increment($"{CounterNames.AlertsRaised}.{AlertKinds.TelemetryClockFault}");
            log.LogWarning("safety alert {Kind} ({Severity}): {Reason}", alert.Kind, alert.Severity, alert.Reason);
        }
        else
        {
            counters.Increment($"{CounterNames.AlertsQueueFull}.{AlertKinds.TelemetryClockFault}");
            log.LogError("safety alert {Kind} could not be queued (alert sink stuck); retried on the next future message", alert.Kind);
        }
    }
}
