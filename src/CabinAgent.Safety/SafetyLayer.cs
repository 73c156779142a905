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
    private readonly ConfirmationAnswers _crashAnswers; // yes / cancel during the crash countdown ("I'm fine" cancels)
    private readonly CrashCallRule _crash;
    // Two locks so that a telemetry flood (state) can never hold up an emergency (dialogue).
    // Order: _dialog before _state, never the other way round.
    private readonly Lock _state = new();   // store, alert rules
    private readonly Lock _dialog = new();  // pending confirmation
    private readonly ClockFaultAlerts _clockFaults;
    private readonly LogRateLimit _telemetryLog; // under _state

    private readonly Func<SafetyAlert, bool> _post;
    private readonly Func<string, string, VehicleCommand> _call;
    private PendingConfirmation? _pending;
    private PendingQuestion? _question;
    private volatile string _driverLang;

    private sealed record PendingConfirmation(VehicleCommand Command, string UtteranceId, string Lang, DateTimeOffset ExpiresAt);

    /// <summary>An emergency question waiting for its yes or no.</summary>
    private sealed record PendingQuestion(string Service, string Situation, string UtteranceId, string Lang, DateTimeOffset ExpiresAt);

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
        _crashAnswers = new ConfirmationAnswers(options.Confirmation.Yes, options.Confirmation.No.Concat(options.Alerts.CrashCall.CancelWords), detector.Normalizer);
        _crash = new CrashCallRule(options.Alerts.CrashCall, _store, Counters);
        _driverLang = options.DefaultLang;
        _post = alert => _outbox.TryPost(alert); // one delegate for the life of the layer, not one per message
        _call = EmergencyCommand;
        if (!catalog.TryGet(EmergencyDetector.EmergencyAction, out _) || !catalog.TryGet("NAV_FIND_NEARBY", out _))
            throw new SafetyConfigException("the action catalog must define EMERGENCY_CALL and NAV_FIND_NEARBY");
    }

    public SafetyCounters Counters { get; }

    public LatencyBudgets Budgets { get; }

    /// <summary>Language used for alerts: the last one the driver spoke.</summary>
    public string DriverLang => _driverLang;

    /// <summary>True while a confirmation question waits for an answer.</summary>
    public bool AwaitingConfirmation { get { lock (_dialog) return _pending is not null; } }

    /// <summary>True while an emergency question waits for an answer.</summary>
    public bool AwaitingEmergencyAnswer { get { lock (_dialog) return _question is not null; } }

    /// <summary>True while the crash signal's countdown runs (the driver can still cancel the call).</summary>
    public bool CrashCallPending => _crash.Pending;

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
            if (result.Accepted && (AlertEngine.Uses(result.Signal!) || CrashCallRule.Uses(result.Signal!))) EvaluateGuarded(receivedAt);
            return result;
        }
    }

    private void EvaluateGuarded(DateTimeOffset now)
    {
        try
        {
            _alerts.Evaluate(now, _driverLang, _post);
            _crash.Evaluate(now, _driverLang, _post, _call);
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
        lock (_dialog)
        {
            ExpireConfirmation(now);
            ExpireQuestion(now);
        }
        lock (_state) EvaluateGuarded(now);
    }

    /// <summary>The next time something may happen without new input (null: nothing is waiting).</summary>
    public DateTimeOffset? NextDue()
    {
        DateTimeOffset? next;
        lock (_state) next = _alerts.NextDue();
        if (_crash.NextDue() is { } crash && (next is null || crash < next)) next = crash;
        lock (_dialog)
        {
            if (_pending is { } p && (next is null || p.ExpiresAt < next)) next = p.ExpiresAt;
            if (_question is { } q && (next is null || q.ExpiresAt < next)) next = q.ExpiresAt;
        }
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
    private long _lastTickMs = -1;

    /// <summary>
    /// How long ago the timer loop last went round (monotonic, whatever the safety clock does), or null before it
    /// started: a watchdog's evidence that hold times and confirmation timeouts are still being evaluated.
    /// </summary>
    public TimeSpan? SinceLastTick => Volatile.Read(ref _lastTickMs) is var at and >= 0
        ? TimeSpan.FromMilliseconds(Environment.TickCount64 - at)
        : null;

    public async Task RunTimerAsync(CancellationToken cancellationToken)
    {
        var maxWait = TimeSpan.FromMilliseconds(_options.Dispatch.TickMs);
        while (!cancellationToken.IsCancellationRequested)
        {
            Volatile.Write(ref _lastTickMs, Environment.TickCount64);
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
            ExpireQuestion(now);

            if (scan.Match is { } match)
            {
                DropPending("emergency");
                _question = null;
                // The driver's own call replaces the crash signal's, so the service is not called twice.
                _crash.Superseded();
                Counters.Increment($"{CounterNames.Emergencies}.{match.Service}");
                _log.LogWarning("emergency phrase {Phrase} in utterance {UtteranceId}: service {Service}", match.PhraseId, utteranceId, match.Service);
                return new EmergencyDetected(EmergencyCommand(match.Service, spokenLang), match.Matched);
            }
            if (CrashCountdownAnswer(utteranceId, scan.Normalized, spokenLang) is { } crashAnswer) return crashAnswer;
            if (QuestionAnswer(utteranceId, scan.Normalized, spokenLang) is { } questionAnswer) return questionAnswer;
            if (scan.Ask is { } ask)
            {
                DropPending("emergency question");
                _question = new PendingQuestion(ask.Service, $"{ask.PhraseId} '{ask.Matched}'", utteranceId, spokenLang,
                    now + TimeSpan.FromMilliseconds(_options.EmergencyQuestion.TimeoutMs));
                Counters.Increment($"{CounterNames.EmergencyQuestion}.asked");
                _log.LogWarning("possible emergency {Situation} in utterance {UtteranceId}: asking the driver", _question.Situation, utteranceId);
                return new EmergencyQuestion(_options.EmergencyQuestion.Spoken.In(spokenLang), ask.Service, _question.Situation);
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
                    foreach (var clamp in allow.Clamps)
                    {
                        Counters.Increment($"{CounterNames.GateClamped}.{clamp.Rule}");
                        _log.LogInformation("gate clamped {Action} (utterance {UtteranceId}): {Note}", command.Action, utteranceId, clamp.Note);
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

    private void DropPending(string why)
    {
        if (_pending is null) return;
        Counters.Increment(CounterNames.ConfirmationAbandoned);
        _log.LogInformation("pending confirmation of {Action} dropped: {Why}", _pending.Command.Action, why);
        _pending = null;
    }

    /// <summary>During the crash countdown: "cancel"/"I'm fine" cancels the call, "yes" places it now; anything else
    /// leaves the countdown running (only a clear cancel may stop an automatic call).</summary>
    private PreCheckResult? CrashCountdownAnswer(string utteranceId, string normalized, string lang)
    {
        if (!_crash.Pending) return null;
        switch (_crashAnswers.Classify(normalized))
        {
            case Answer.No when _crash.Cancel():
                _log.LogWarning("crash call cancelled by the driver (utterance {UtteranceId})", utteranceId);
                return new ConfirmationAnswered(null, _options.Alerts.CrashCall.SpokenCancelled.In(lang));
            case Answer.Yes:
                _crash.Superseded();
                Counters.Increment($"{CounterNames.Emergencies}.{_options.Alerts.CrashCall.Service}");
                _log.LogWarning("crash call confirmed by the driver (utterance {UtteranceId})", utteranceId);
                return new EmergencyDetected(EmergencyCommand(_options.Alerts.CrashCall.Service, lang), "crash signal, confirmed");
            default:
                return null;
        }
    }

    /// <summary>The answer to a pending emergency question: yes calls, no cancels, anything else drops the question.</summary>
    private PreCheckResult? QuestionAnswer(string utteranceId, string normalized, string lang)
    {
        if (_question is not { } question) return null;
        _question = null;
        switch (_answers.Classify(normalized))
        {
            case Answer.Yes:
                Counters.Increment($"{CounterNames.EmergencyQuestion}.yes");
                Counters.Increment($"{CounterNames.Emergencies}.{question.Service}");
                _log.LogWarning("emergency question answered yes (utterance {UtteranceId}): calling {Service}", utteranceId, question.Service);
                return new EmergencyDetected(EmergencyCommand(question.Service, lang), question.Situation);
            case Answer.No:
                Counters.Increment($"{CounterNames.EmergencyQuestion}.no");
                _log.LogInformation("emergency question answered no (utterance {UtteranceId})", utteranceId);
                return new ConfirmationAnswered(null, _options.Confirmation.SpokenCancelled.In(lang));
            default:
                Counters.Increment($"{CounterNames.EmergencyQuestion}.abandoned");
                _log.LogInformation("emergency question dropped: utterance {UtteranceId} is neither yes nor no", utteranceId);
                return null;
        }
    }

    /// <summary>
    /// An unanswered emergency question: silence calls only when the vehicle also shows a crash or a stop from speed
    /// (the driver may be unable to answer); otherwise the driver hears that nothing was called.
    /// </summary>
    private void ExpireQuestion(DateTimeOffset now)
    {
        if (_question is not { } q || now < q.ExpiresAt) return;
        string? sign;
        lock (_state) sign = _crash.CrashOrStop(now);
        if (sign is not null)
        {
            SafetyAlert alert;
            lock (_state)
                alert = _crash.CallAlert(CrashCallRule.QuestionTimeoutRule, $"no answer to the emergency question ({q.Situation}) and {sign}",
                    q.Service, q.Lang, q.ExpiresAt, now, _call);
            if (!_outbox.TryPost(alert))
            {
                // Kept pending: the next tick tries again.
                Counters.Increment($"{CounterNames.AlertsQueueFull}.{AlertKinds.CrashCall}");
                _log.LogError("could not queue the emergency call for {UtteranceId} (alert sink stuck); retrying", q.UtteranceId);
                return;
            }
            _question = null;
            Counters.Increment($"{CounterNames.EmergencyQuestion}.timeout_called");
            _log.LogWarning("emergency question for {UtteranceId} unanswered and {Sign}: calling {Service}", q.UtteranceId, sign, q.Service);
            return;
        }
        _question = null;
        Counters.Increment($"{CounterNames.EmergencyQuestion}.timeout_not_called");
        _log.LogInformation("emergency question for {UtteranceId} unanswered, vehicle shows no crash: not calling", q.UtteranceId);
        var notice = new SpokenNotice(_options.EmergencyQuestion.SpokenNoCall.In(q.Lang), q.Lang, "emergency_question_timeout", q.UtteranceId, q.ExpiresAt);
        if (!_outbox.TryPost(notice))
            _log.LogError("could not queue the emergency-question notice for {UtteranceId} (alert sink stuck)", q.UtteranceId);
    }

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
