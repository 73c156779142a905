using System.Text.Json.Nodes;
using CabinAgent.Actions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CabinAgent.Safety;

/// <summary>
/// The deterministic safety layer: vehicle state from telemetry, alert rules, the emergency phrase check, the gate
/// and the confirmation dialogue. No model and no I/O here: what must be said goes to an <see cref="IAlertOutbox"/>
/// that never blocks. Every entry point takes the time explicitly, so the same inputs at the same times give the
/// same outputs (replay). All entry points are thread-safe (one short lock; the phrase scan runs outside it).
/// </summary>
public sealed class SafetyLayer : ISafetyLayer
{
    private readonly SafetyOptions _options;
    private readonly EmergencyDetector _detector;
    private readonly ActionCatalog _catalog;
    private readonly IAlertOutbox _outbox;
    private readonly TimeProvider _clock;
    private readonly ILogger _log;
    private readonly VehicleStateStore _store;
    private readonly AlertEngine _alerts;
    private readonly SafetyGate _gate;
    private readonly ConfirmationAnswers _answers;
    // Two locks so that a telemetry flood (state) can never hold up an emergency (dialogue).
    // Order: _dialog before _state, never the other way round.
    private readonly Lock _state = new();   // store, alert rules
    private readonly Lock _dialog = new();  // pending confirmation
    private readonly ClockFaultAlerts _clockFaults;
    private readonly LogRateLimit _telemetryLog; // under _state

    private readonly Func<SafetyAlert, bool> _post;
    private PendingConfirmation? _pending;
    private volatile string _driverLang;

    private sealed record PendingConfirmation(VehicleCommand Command, string UtteranceId, string Lang, DateTimeOffset ExpiresAt);

    public SafetyLayer(SafetyOptions options, EmergencyDetector detector, ActionCatalog catalog, IAlertOutbox outbox,
        TimeProvider clock, SafetyCounters? counters = null, ILogger? log = null, LatencyBudgets? budgets = null)
    {
        _options = options;
        _detector = detector;
        _catalog = catalog;
        _outbox = outbox;
        _clock = clock;
        _log = log ?? NullLogger.Instance;
        Counters = counters ?? new SafetyCounters();
        // Shared with the dispatcher so alert and emergency budget misses land in the same counters.
        Budgets = budgets ?? new LatencyBudgets(options, Counters, _log);
        _store = new VehicleStateStore(options, Counters);
        _alerts = new AlertEngine(options.Alerts, catalog, _store, Counters, _log);
        _gate = new SafetyGate(options.Gate, options.Confirmation, catalog, _store);
        _clockFaults = new ClockFaultAlerts(options.Alerts.TelemetryClockFault, Counters, _log);
        _telemetryLog = new LogRateLimit(options.Telemetry.RejectionLogMaxLines,
            TimeSpan.FromMilliseconds(options.Telemetry.RejectionLogIntervalMs));
        _answers = new ConfirmationAnswers(options.Confirmation.Yes, options.Confirmation.No, detector.Normalizer);
        _driverLang = options.DefaultLang;
        _post = alert => _outbox.TryPost(alert); // one delegate for the life of the layer, not one per message
        if (!catalog.TryGet(EmergencyDetector.EmergencyAction, out _) || !catalog.TryGet("NAV_FIND_NEARBY", out _))
            throw new SafetyConfigException("the action catalog must define EMERGENCY_CALL and NAV_FIND_NEARBY");
    }

    public SafetyCounters Counters { get; }

    public LatencyBudgets Budgets { get; }

    /// <summary>Language used for alerts: the last one the driver spoke.</summary>
    public string DriverLang => _driverLang;

    /// <summary>True while a confirmation question waits for an answer.</summary>
    public bool AwaitingConfirmation { get { lock (_dialog) return _pending is not null; } }

    // ---- telemetry ----------------------------------------------------------------------------------------------

    /// <summary>
    /// One telemetry message from MQTT (<paramref name="topicSuffix"/>: the full topic, <c>telemetry/speed_kmh</c> or
    /// <c>speed_kmh</c>). Evaluates the alert rules at <paramref name="receivedAt"/>. Never throws: bad input is
    /// rejected with a reason, and a fault in a rule is logged and counted (the MQTT subscriber must keep running).
    /// </summary>
    /// <param name="origin"><see cref="TelemetryOrigin.Retained"/> for the broker's retained copy (MQTT retain flag on
    /// delivery): it is judged by its <c>ts_ms</c> before it may count.</param>
    public IngestResult IngestTelemetry(string topicSuffix, ReadOnlySpan<byte> payload, DateTimeOffset receivedAt,
        TelemetryOrigin origin = TelemetryOrigin.Live)
    {
        lock (_state)
        {
            var result = _store.Ingest(topicSuffix, payload, receivedAt, origin);
            Observe(result, receivedAt);
            if (result.Accepted && AlertEngine.Uses(result.Signal!)) EvaluateGuarded(receivedAt);
            return result;
        }
    }

    private void EvaluateGuarded(DateTimeOffset now)
    {
        try
        {
            _alerts.Evaluate(now, _driverLang, _post);
        }
        catch (Exception ex)
        {
            Counters.Increment(CounterNames.InternalErrors);
            _log.LogError(ex, "safety rule evaluation failed at {Now}", now);
        }
    }

    /// <summary>Applies a <c>vehicle_state</c> snapshot as received at <paramref name="at"/>, then evaluates.</summary>
    public IReadOnlyList<IngestResult> ApplySnapshot(JsonObject state, DateTimeOffset at)
    {
        lock (_state)
        {
            var results = _store.ApplySnapshot(state, at);
            foreach (var r in results) Observe(r, at);
            EvaluateGuarded(at);
            return results;
        }
    }

    /// <summary>Evaluates the time-based parts (hold times, re-alerts, confirmation timeout) at <paramref name="now"/>.</summary>
    public void Tick(DateTimeOffset now)
    {
        lock (_dialog) ExpireConfirmation(now);
        lock (_state) EvaluateGuarded(now);
    }

    /// <summary>The next time something may happen without new input (null: nothing is waiting).</summary>
    public DateTimeOffset? NextDue()
    {
        DateTimeOffset? next;
        lock (_state) next = _alerts.NextDue();
        lock (_dialog)
            if (_pending is { } p && (next is null || p.ExpiresAt < next)) next = p.ExpiresAt;
        return next;
    }

    /// <summary>
    /// Moves time forward to <paramref name="target"/>, evaluating at every intermediate due time in order, so a hold
    /// time that ends between two trace lines fires at its exact time (replay). Then evaluates at the target.
    /// </summary>
    public void AdvanceTo(DateTimeOffset target)
    {
        for (var guard = 0; guard < 100_000; guard++)
        {
            var next = NextDue();
            if (next is null || next.Value > target) break;
            Tick(next.Value);
            if (NextDue() == next) break; // nothing moved (e.g. outbox refusing): stop rather than spin
        }
        Tick(target);
    }

    public SignalReading Read(string signal, DateTimeOffset now)
    {
        lock (_state) return _store.Read(signal, now);
    }

    public JsonObject StateSnapshot(DateTimeOffset now)
    {
        lock (_state) return _store.Snapshot(now);
    }

    /// <summary>Every alert rule's condition, whether it is active, and why, as of <paramref name="now"/>.</summary>
    public IReadOnlyList<RuleStatus> RuleStatuses(DateTimeOffset now)
    {
        lock (_state) return _alerts.Status(now);
    }

    /// <summary>
    /// Runs the time-based evaluation on the real clock until cancelled: wakes at the next due time, at most
    /// <see cref="DispatchOptions.TickMs"/> apart. The Host runs it as a background task next to the dispatcher.
    /// </summary>
    public async Task RunTimerAsync(CancellationToken cancellationToken)
    {
        var maxWait = TimeSpan.FromMilliseconds(_options.Dispatch.TickMs);
        while (!cancellationToken.IsCancellationRequested)
        {
            var now = _clock.GetUtcNow();
            try
            {
                Tick(now);
            }
            catch (Exception ex)
            {
                // A bug in a rule must not stop the timer: log it loudly and keep evaluating.
                _log.LogError(ex, "safety tick failed");
            }
            var wait = maxWait;
            if (NextDue() is { } due && due - now < wait) wait = due - now;
            if (wait < TimeSpan.FromMilliseconds(1)) wait = TimeSpan.FromMilliseconds(1);
            try
            {
                await Task.Delay(wait, _clock, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    // ---- utterances ---------------------------------------------------------------------------------------------

    public PreCheckResult PreCheck(string utteranceId, string text, string? lang, DateTimeOffset now)
    {
        // The scan is pure and the slowest part: it runs outside any lock. An emergency then needs only the dialogue
        // lock, which telemetry never takes.
        var scan = _detector.Scan(text ?? "");
        // Text with no words (digits, punctuation) says nothing about the language: the driver's last one stands.
        var spokenLang = lang is "zh" or "en" ? lang : LanguageDetector.Detect(text) ?? _driverLang;
        _driverLang = spokenLang;
        lock (_dialog)
        {
            ExpireConfirmation(now);

            if (scan.Match is { } match)
            {
                if (_pending is not null)
                {
                    Counters.Increment(CounterNames.ConfirmationAbandoned);
                    _log.LogInformation("pending confirmation of {Action} dropped: emergency", _pending.Command.Action);
                    _pending = null;
                }
                Counters.Increment($"{CounterNames.Emergencies}.{match.Service}");
                _log.LogWarning("emergency phrase {Phrase} in utterance {UtteranceId}: service {Service}", match.PhraseId, utteranceId, match.Service);
                return new EmergencyDetected(EmergencyCommand(match.Service, spokenLang), match.Matched);
            }
            foreach (var s in scan.Suppressed)
            {
                Counters.Increment(CounterNames.EmergencySuppressedByNegation);
                _log.LogInformation("emergency phrase {Phrase} ('{Matched}') in utterance {UtteranceId} not acted on: {Why}",
                    s.PhraseId, s.Matched, utteranceId, s.Why);
            }

            if (_pending is not { } pending) return PreCheckResult.Continue;
            switch (_answers.Classify(scan.Normalized))
            {
                case Answer.Yes:
                    _pending = null;
                    GateDecision decision;
                    lock (_state) decision = _gate.Evaluate(pending.Command, spokenLang, now, confirmed: true);
                    if (decision is GateAllow allow)
                    {
                        Counters.Increment(CounterNames.ConfirmationAccepted);
                        _log.LogInformation("confirmation of {Action} accepted (utterance {UtteranceId})", allow.Command.Action, utteranceId);
                        var command = allow.Command with { RequiresConfirmation = true };
                        return new ConfirmationAnswered(command, command.Response);
                    }
                    var refuse = (GateRefuse)decision;
                    Counters.Increment(CounterNames.ConfirmationRefusedOnRecheck);
                    Counters.Increment($"{CounterNames.GateRefused}.{refuse.Rule}");
                    _log.LogWarning("confirmed {Action} refused on re-check by {Rule}: {Reason}", pending.Command.Action, refuse.Rule, refuse.Reason);
                    return new ConfirmationAnswered(null, refuse.Spoken);
                case Answer.No:
                    _pending = null;
                    Counters.Increment(CounterNames.ConfirmationDeclined);
                    _log.LogInformation("confirmation of {Action} declined (utterance {UtteranceId})", pending.Command.Action, utteranceId);
                    return new ConfirmationAnswered(null, _options.Confirmation.SpokenCancelled.In(spokenLang));
                default:
                    // The driver moved on: a later stray "yes" must not execute an old unlock. The new utterance
                    // gets its own response, so nothing is spoken about the dropped question.
                    _pending = null;
                    Counters.Increment(CounterNames.ConfirmationAbandoned);
                    _log.LogInformation("confirmation of {Action} abandoned: utterance {UtteranceId} is a new request", pending.Command.Action, utteranceId);
                    return PreCheckResult.Continue;
            }
        }
    }

    public GateDecision Gate(VehicleCommand command, string utteranceId, string lang, DateTimeOffset now)
    {
        var spokenLang = lang is "zh" or "en" ? lang : _options.DefaultLang;
        lock (_dialog)
        {
            ExpireConfirmation(now);
            GateDecision decision;
            lock (_state) decision = _gate.Evaluate(command, spokenLang, now, confirmed: false);
            switch (decision)
            {
                case GateRefuse refuse:
                    Counters.Increment($"{CounterNames.GateRefused}.{refuse.Rule}");
                    _log.LogInformation("gate refused {Action} (utterance {UtteranceId}) by {Rule}: {Reason}", command.Action, utteranceId, refuse.Rule, refuse.Reason);
                    break;
                case GateAskConfirmation ask:
                    if (_pending is not null)
                    {
                        Counters.Increment(CounterNames.ConfirmationAbandoned);
                        _log.LogInformation("pending confirmation of {Action} replaced by a new question", _pending.Command.Action);
                    }
                    _pending = new PendingConfirmation(ask.Command, utteranceId, spokenLang,
                        now + TimeSpan.FromMilliseconds(_options.Confirmation.TimeoutMs));
                    Counters.Increment(CounterNames.ConfirmationAsked);
                    _log.LogInformation("asking the driver to confirm {Action} (utterance {UtteranceId})", command.Action, utteranceId);
                    break;
                case GateAllow allow:
                    Counters.Increment(CounterNames.GateAllowed);
                    foreach (var note in allow.Notes)
                    {
                        Counters.Increment($"{CounterNames.GateClamped}.{note[..note.IndexOf(':')]}");
                        _log.LogInformation("gate clamped {Action} (utterance {UtteranceId}): {Note}", command.Action, utteranceId, note);
                    }
                    break;
            }
            return decision;
        }
    }

    public void RecordEmergencyLatency(string utteranceId, TimeSpan elapsed)
    {
        if (!Budgets.Record(LatencyBudgets.EmergencyPath, elapsed))
            _log.LogWarning("emergency utterance {UtteranceId} took {ElapsedMs:0.0} ms to publish", utteranceId, elapsed.TotalMilliseconds);
    }

    // ---- internals ----------------------------------------------------------------------------------------------

    private void ExpireConfirmation(DateTimeOffset now)
    {
        if (_pending is not { } pending || now < pending.ExpiresAt) return;
        _pending = null;
        Counters.Increment(CounterNames.ConfirmationTimedOut);
        _log.LogInformation("confirmation of {Action} (utterance {UtteranceId}) timed out: cancelled", pending.Command.Action, pending.UtteranceId);
        var notice = new SpokenNotice(_options.Confirmation.SpokenTimeout.In(pending.Lang), pending.Lang,
            $"confirmation_timeout:{pending.Command.Action}", pending.UtteranceId, pending.ExpiresAt);
        if (!_outbox.TryPost(notice))
            _log.LogError("could not queue the confirmation-timeout notice for {UtteranceId} (alert sink stuck)", pending.UtteranceId);
    }

    private VehicleCommand EmergencyCommand(string service, string lang)
    {
        var action = _catalog.Get(EmergencyDetector.EmergencyAction);
        var parameters = new JsonObject { ["service"] = service };
        return new VehicleCommand
        {
            Action = action.Name,
            Parameters = parameters,
            Response = ResponseRenderer.Render(_catalog, action, parameters, lang),
            Confidence = 1.0,
            // Never ask before an emergency call: the seconds matter more than a false alarm the driver can hang up.
            RequiresConfirmation = false,
        };
    }

    /// <summary>What the store refused or re-based goes to the log (rate-limited per reason; the counters keep the
    /// totals) and to the clock-fault alert. Under <see cref="_state"/>.</summary>
    private void Observe(IngestResult result, DateTimeOffset at)
    {
        _clockFaults.Observe(result, at, _driverLang, _post);
        if (!result.Accepted)
        {
            var reason = VehicleStateStore.RejectionName(result.Rejection);
            if (!_telemetryLog.TryTake(reason, at, out var skipped)) return;
            if (skipped == 0) _log.LogWarning("telemetry rejected ({Rejection}): {Reason}", reason, result.Reason);
            else _log.LogWarning("telemetry rejected ({Rejection}): {Reason} (and {Skipped} more since the last line)", reason, result.Reason, skipped);
        }
        else if (result.Resync is { } resync && _telemetryLog.TryTake(CounterNames.TelemetryResync, at, out var skipped))
        {
            if (skipped == 0) _log.LogWarning("telemetry resync: {Resync}", resync);
            else _log.LogWarning("telemetry resync: {Resync} (and {Skipped} more since the last line)", resync, skipped);
        }
    }
}
