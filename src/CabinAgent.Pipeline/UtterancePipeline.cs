using System.Diagnostics;
using CabinAgent.Actions;
using CabinAgent.Safety;
using CabinAgent.Understanding;
using Microsoft.Extensions.Logging;

namespace CabinAgent.Pipeline;

/// <summary>
/// Transcript in → language (decided once) → validation → safety pre-check (emergency phrases, pending
/// confirmations) → understanding tiers → command from the catalog → safety gate → schema validation → publish.
/// The gate comes before the schema: it may clamp parameters or mark the command for confirmation, and what goes
/// out (or is asked about) is the gated command, so that is the one the schema checks. An emergency or a confirmed
/// command from the safety layer skips the tiers and the gate, not the schema.
/// Every utterance ends in exactly one <see cref="Outcome"/>; nothing reaches an action topic unless it passed the
/// gate and the schema. Safe to call concurrently: an emergency is never
/// queued behind a model decode, and it cancels any decode in flight.
/// </summary>
public sealed class UtterancePipeline
{
    private readonly ActionCatalog _catalog;
    private readonly CommandSchema _schema;
    private readonly IReadOnlyList<IUnderstandingTier> _tiers;
    private readonly ISafetyLayer _safety;
    private readonly IAgentOutput _output;
    private readonly TimeProvider _time;
    private readonly PipelineMetrics? _metrics;
    private readonly ILogger _logger;
    private readonly PipelineOptions _options;
    private readonly Language _defaultLang;
    private CancellationTokenSource _preemption = new();

    public UtterancePipeline(
        ActionCatalog catalog,
        CommandSchema schema,
        IEnumerable<IUnderstandingTier> tiers,
        ISafetyLayer safety,
        IAgentOutput output,
        PipelineOptions options,
        ILogger<UtterancePipeline> logger,
        TimeProvider? time = null,
        PipelineMetrics? metrics = null)
    {
        _catalog = catalog;
        _schema = schema;
        _safety = safety;
        _output = output;
        _options = options;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _metrics = metrics;
        _tiers = SelectTiers(tiers.ToList(), options.Tiers);
        _defaultLang = Languages.FromCode(options.DefaultLang)
            ?? throw new ArgumentException($"default language must be zh or en, not '{options.DefaultLang}'", nameof(options));
    }

    /// <summary>The tiers in the order they are tried.</summary>
    public IReadOnlyList<IUnderstandingTier> Tiers => _tiers;

    private static List<IUnderstandingTier> SelectTiers(List<IUnderstandingTier> tiers, TierMode mode)
    {
        var selected = mode switch
        {
            TierMode.Deterministic => tiers.Where(t => t.Name == Tier.Deterministic).ToList(),
            TierMode.Llm => tiers.Where(t => t.Name == Tier.Llm).ToList(),
            _ => tiers,
        };
        if (selected.Count == 0 && mode != TierMode.Auto)
            throw new InvalidOperationException($"tier mode '{mode.ToString().ToLowerInvariant()}' needs that tier configured");
        return selected;
    }

    /// <summary>Runs one utterance all the way: <see cref="AdmitAsync"/>, then <see cref="CompleteAsync"/> unless admission answered it.</summary>
    public async Task<UtteranceRecord> ProcessAsync(UtteranceInput input, CancellationToken cancellationToken = default) =>
        await AdmitAsync(input, cancellationToken).ConfigureAwait(false) switch
        {
            Admission.Answered answered => answered.Record,
            Admission.Pending pending => await CompleteAsync(pending, cancellationToken).ConfigureAwait(false),
            var other => throw new UnreachableException($"unknown admission {other.GetType().Name}"),
        };

    /// <summary>
    /// The cheap, deterministic first half, meant to run the moment an utterance arrives, in arrival order:
    /// the language, validation and the safety pre-check. Emergencies, answers to a confirmation and bad input are
    /// <see cref="Admission.Answered"/> here; everything else is <see cref="Admission.Pending"/> and waits for
    /// <see cref="CompleteAsync"/> (the understanding tiers), which a daemon runs one at a time so commands keep
    /// the driver's order.
    /// </summary>
    public async Task<Admission> AdmitAsync(UtteranceInput input, CancellationToken cancellationToken = default)
    {
        var text = input.Text?.Trim() ?? "";
        var record = new RecordBuilder(input, DecideLanguage(input.Lang, text), input.ReceivedTimestamp ?? Stopwatch.GetTimestamp());
        using var scope = _logger.BeginScope(new Dictionary<string, object> { ["UtteranceId"] = input.Id });
        var admitted = await GuardAsync(record, () => AdmitStageAsync(input, text, record, cancellationToken), cancellationToken)
            .ConfigureAwait(false);
        return admitted ? new Admission.Pending(input, text, record) : new Admission.Answered(Finish(record));
    }

    /// <summary>
    /// The one decision of the utterance's language: the source's when it says <c>zh</c> or <c>en</c>, else the
    /// transcript's by <see cref="LanguageDetector"/>, else the configured default. Tiers, the safety layer and the
    /// response renderer all take this one.
    /// </summary>
    private Language DecideLanguage(string? given, string text) =>
        Languages.FromCode(given) ?? Languages.Of(text, _defaultLang);

    /// <summary>
    /// Instead of <see cref="CompleteAsync"/> when the understanding queue is full: the utterance is answered
    /// <c>rejected</c> with reason <see cref="BusyReason"/> at once rather than making everything behind it wait.
    /// </summary>
    public async Task<UtteranceRecord> RejectBusyAsync(Admission.Pending admission, CancellationToken cancellationToken = default)
    {
        var record = admission.Record;
        using var scope = _logger.BeginScope(new Dictionary<string, object> { ["UtteranceId"] = record.Id });
        record.Decide(Outcome.Rejected, BusyReason, Rejection.Busy);
        await TrySayAsync(record, "rejected", _catalog.Message("busy", record.Lang.Code()), cancellationToken).ConfigureAwait(false);
        return Finish(record);
    }

    /// <summary>The reason of a transcript shed because the understanding queue was full.</summary>
    public const string BusyReason = "busy";

    /// <summary>The second half: understanding tiers, command, gate, schema, publish. Returns the final record.</summary>
    public async Task<UtteranceRecord> CompleteAsync(Admission.Pending admission, CancellationToken cancellationToken = default)
    {
        var record = admission.Record;
        using var scope = _logger.BeginScope(new Dictionary<string, object> { ["UtteranceId"] = record.Id });
        await GuardAsync(record, () => UnderstandStageAsync(admission, cancellationToken), cancellationToken).ConfigureAwait(false);
        return Finish(record);
    }

    /// <summary>Runs a stage; true when it says "carry on", false when the utterance has its outcome (or the stage failed).</summary>
    private async Task<bool> GuardAsync(RecordBuilder record, Func<Task<bool>> stage, CancellationToken cancellationToken)
    {
        try
        {
            return await stage().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            // One utterance's failure must never take the agent down.
            _logger.LogError(ex, "Utterance failed in the pipeline");
            record.Decide(Outcome.Error, $"internal error: {ex.GetType().Name}: {ex.Message}");
            await TrySayAsync(record, "error", _catalog.Message("error", record.Lang.Code()), cancellationToken).ConfigureAwait(false);
            return false;
        }
    }

    private UtteranceRecord Finish(RecordBuilder builder)
    {
        if (builder.Outcome is not { } outcome)
        {
            // Every path decides an outcome; a path that forgot is a bug, recorded as one rather than passed off as a result.
            _logger.LogError("Utterance ended without an outcome");
            builder.Decide(Outcome.Error, "internal error: no outcome decided");
            outcome = Outcome.Error;
        }
        var record = builder.Build(outcome);
        _metrics?.Record(record);
        _logger.LogInformation("Utterance {Outcome} tier={Tier} action={Action} total={TotalMs:F1}ms{Reason}",
            record.Outcome.Wire(), record.Tier?.Wire() ?? "-", record.Command?.Action ?? "-", record.LatencyMs["total"],
            record.Error is null ? "" : " reason=" + record.Error);
        if (_options.LogTranscripts)
            _logger.LogInformation("Transcript: {Text}", record.Text);
        return record;
    }

    /// <summary>Validation and the safety pre-check. True when the utterance goes on to the tiers.</summary>
    private async Task<bool> AdmitStageAsync(UtteranceInput input, string text, RecordBuilder record, CancellationToken ct)
    {
        var invalid = input.DecodeError ?? TranscriptValidator.Check(input.Text, input.Lang);
        record.Mark("validate");
        if (invalid is not null)
        {
            record.Decide(Outcome.Rejected, invalid, Rejection.InvalidInput);
            if (!string.IsNullOrWhiteSpace(input.Text) || input.DecodeError is not null)
                await TrySayAsync(record, "rejected", _catalog.Message("rejected", record.Lang.Code()), ct).ConfigureAwait(false);
            return false;
        }

        var preCheck = _safety.PreCheck(record.Id, text, record.Lang.Code(), _time.GetUtcNow());
        record.Mark("safety");
        switch (preCheck)
        {
            case EmergencyDetected emergency:
                // The driver's life outranks whatever the model is thinking about.
                Interlocked.Exchange(ref _preemption, new CancellationTokenSource()).Cancel();
                record.Tier = Tier.Safety;
                record.Explanation = $"emergency phrase '{emergency.MatchedPhrase}'";
                await PublishAsync(input, record, emergency.Command, ct).ConfigureAwait(false);
                _safety.RecordEmergencyLatency(record.Id, Stopwatch.GetElapsedTime(record.Start));
                return false;
            case EmergencyQuestion question:
                // Asked at once, on the emergency path: no tier runs, and the answer comes back through PreCheck.
                Interlocked.Exchange(ref _preemption, new CancellationTokenSource()).Cancel();
                record.Tier = Tier.Safety;
                record.Decide(Outcome.ConfirmationRequested);
                record.Explanation = $"possible emergency {question.Situation}: asking before calling {question.Service}";
                await TrySayAsync(record, "confirmation", question.Spoken, ct).ConfigureAwait(false);
                _safety.RecordEmergencyLatency(record.Id, Stopwatch.GetElapsedTime(record.Start));
                return false;
            case ConfirmationAnswered answer:
                record.Tier = Tier.Safety;
                record.Explanation = "answer to a pending confirmation";
                if (answer.Command is null)
                {
                    record.Decide(Outcome.Cancelled, "the driver declined the pending command");
                    await TrySayAsync(record, "confirmation", answer.Spoken, ct).ConfigureAwait(false);
                    return false;
                }
                await PublishAsync(input, record, answer.Command, ct, spokenOverride: answer.Spoken).ConfigureAwait(false);
                return false;
            default:
                return true;
        }
    }

    private async Task<bool> UnderstandStageAsync(Admission.Pending admission, CancellationToken ct)
    {
        var record = admission.Record;
        var utterance = new Utterance(record.Id, admission.Text, record.Lang);
        Understood? understood = null;
        foreach (var tier in _tiers)
        {
            var result = await UnderstandAsync(tier, utterance, ct).ConfigureAwait(false);
            record.Mark(tier.Name.Wire());
            if (result.Details is not null) record.TierDetails[tier.Name] = result.Details;
            if (result is Understood u)
            {
                understood = u;
                record.Tier = tier.Name;
                record.Explanation = result.Explanation;
                break;
            }
            if (result is TierFailed failed)
            {
                record.Tier = tier.Name;
                record.Decide(Outcome.Error, $"{tier.Name.Wire()} tier failed: {failed.Reason}");
                record.Explanation = result.Explanation;
                await TrySayAsync(record, "error", _catalog.Message("error", record.Lang.Code()), ct).ConfigureAwait(false);
                return false;
            }
            record.TierReasons.Add($"{tier.Name.Wire()}: {((NotUnderstood)result).Reason}");
        }

        if (understood is null)
        {
            record.Decide(Outcome.NotUnderstood,
                record.TierReasons.Count > 0 ? string.Join("; ", record.TierReasons) : "no understanding tier configured");
            await TrySayAsync(record, "not_understood", _catalog.Message("not_understood", record.Lang.Code()), ct).ConfigureAwait(false);
            return false;
        }

        // The template tier answers in the grammar that matched (播放 Taylor Swift 的 Love Story is Chinese).
        record.Lang = understood.Lang;
        if (!_catalog.TryGet(understood.Action, out var action))
        {
            // A tier can be wrong; the catalog is the authority on what exists.
            record.UnknownAction = understood.Action;
            record.Decide(Outcome.Rejected, $"action '{Printable(understood.Action)}' is not in the catalog", Rejection.NotInCatalog);
            await TrySayAsync(record, "rejected", _catalog.Message("rejected", record.Lang.Code()), ct).ConfigureAwait(false);
            return false;
        }
        var command = new VehicleCommand
        {
            Action = action.Name,
            Parameters = understood.Parameters,
            Response = ResponseRenderer.Render(_catalog, action, understood.Parameters, record.Lang.Code()),
            Confidence = Math.Round(Math.Clamp(understood.Confidence, 0, 1), 4),
            RequiresConfirmation = action.RequiresConfirmation,
        };

        var gate = _safety.Gate(command, record.Id, record.Lang.Code(), _time.GetUtcNow());
        record.Mark("gate");
        switch (gate)
        {
            case GateRefuse refuse:
                record.Command = command;
                record.GateRule = refuse.Rule;
                record.Decide(Outcome.Refused, $"refused by safety rule {refuse.Rule}: {refuse.Reason}");
                await TrySayAsync(record, "refusal", refuse.Spoken, ct).ConfigureAwait(false);
                return false;
            case GateAskConfirmation ask:
                record.Command = ask.Command;
                record.Decide(Outcome.ConfirmationRequested);
                if (await ValidateOrRejectAsync(record, ask.Command, ct).ConfigureAwait(false))
                    await TrySayAsync(record, "confirmation", ask.Spoken, ct).ConfigureAwait(false);
                return false;
            case GateAllow allow:
                record.GateClamps = allow.Clamps;
                await PublishAsync(admission.Input, record, allow.Command, ct).ConfigureAwait(false);
                return false;
            default:
                throw new UnreachableException($"unknown gate decision {gate.GetType().Name}");
        }
    }

    private async Task<TierResult> UnderstandAsync(IUnderstandingTier tier, Utterance utterance, CancellationToken ct)
    {
        var preemption = Volatile.Read(ref _preemption).Token;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, preemption);
        try
        {
            var result = await tier.UnderstandAsync(utterance, linked.Token).ConfigureAwait(false);
            // A tier may report a cancel as a failure rather than throw; either way the emergency is the reason.
            return preemption.IsCancellationRequested && result is not Understood ? new TierFailed("preempted by an emergency") : result;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new TierFailed("preempted by an emergency");
        }
    }

    /// <summary>Schema check, then publish on the action topic and say the response.</summary>
    private async Task PublishAsync(UtteranceInput input, RecordBuilder record, VehicleCommand command, CancellationToken ct, string? spokenOverride = null)
    {
        record.Command = command;
        var valid = await ValidateOrRejectAsync(record, command, ct).ConfigureAwait(false);
        record.Mark("schema");
        if (!valid)
            return;

        var action = _catalog.Get(command.Action);
        var outgoing = new OutgoingCommand(UtteranceInput.CommandIdFor(input), record.Id, record.Tier?.Wire() ?? "none", record.Lang.Code(), action, command);
        PublishReceipt receipt;
        try
        {
            receipt = await _output.PublishCommandAsync(outgoing, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            _logger.LogError(ex, "Publishing {Action} failed", command.Action);
            record.Decide(Outcome.Error, $"publish failed: {ex.Message}");
            await TrySayAsync(record, "error", _catalog.Message("error", record.Lang.Code()), ct).ConfigureAwait(false);
            return;
        }
        record.Mark("publish");
        record.Topic = receipt.Topic;
        record.CommandId = outgoing.CommandId;
        if (receipt.State == PublishState.Undeliverable)
        {
            record.Decide(Outcome.Error, $"undeliverable, kept in the dead-letter file: {receipt.Reason}");
            await TrySayAsync(record, "error", _catalog.Message("action_failed", record.Lang.Code()), ct).ConfigureAwait(false);
            return;
        }
        if (receipt.State == PublishState.Queued)
        {
            record.Decide(Outcome.Queued, "broker unreachable: command kept in the outbox until it reconnects");
            await TrySayAsync(record, "queued", _catalog.Message("queued", record.Lang.Code()), ct).ConfigureAwait(false);
            return;
        }
        record.Decide(Outcome.Published);
        await TrySayAsync(record, "command", spokenOverride ?? command.Response, ct).ConfigureAwait(false);

        if (receipt.Acknowledgement is { } pendingAck)
        {
            var ack = await pendingAck.WaitAsync(ct).ConfigureAwait(false);
            record.Mark("ack");
            record.Ack = ack.Status;
            if (!ack.IsOk)
            {
                record.Decide(Outcome.Failed, ack.Status == AckResult.Timeout
                    ? "the ECU did not acknowledge the command in time"
                    : $"the ECU reported a failure: {ack.Reason ?? "no reason given"}");
                await TrySayAsync(record, "error", _catalog.Message("action_failed", record.Lang.Code()), ct).ConfigureAwait(false);
            }
        }
    }

    private async Task<bool> ValidateOrRejectAsync(RecordBuilder record, VehicleCommand command, CancellationToken ct)
    {
        var errors = _schema.Validate(command);
        if (errors.Count == 0)
            return true;
        record.SchemaErrors = [.. errors];
        record.Decide(Outcome.Rejected, "schema: " + string.Join("; ", errors), Rejection.SchemaInvalid);
        _logger.LogWarning("Command {Action} failed schema validation: {Errors}", command.Action, record.Error);
        await TrySayAsync(record, "rejected", _catalog.Message("rejected", record.Lang.Code()), ct).ConfigureAwait(false);
        return false;
    }

    private async Task TrySayAsync(RecordBuilder record, string kind, string text, CancellationToken ct)
    {
        record.Spoken = text;
        try
        {
            await _output.SayAsync(new SpokenMessage(record.Id, kind, record.Lang.Code(), text)
            {
                Reason = record.Outcome == Outcome.Rejected ? record.Error : null,
                IdProblem = record.IdProblem,
            }, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // The record keeps what should have been said; losing the voice prompt is logged, not fatal.
            _logger.LogWarning(ex, "Could not deliver the spoken response");
        }
    }

    private static string Printable(string s) => s.Length <= 40 ? s : s[..40] + "…";

    /// <summary>
    /// What admission made of an utterance: <see cref="Answered"/> (it has its outcome: bad input, an emergency, the
    /// answer to a confirmation) or <see cref="Pending"/> (it goes on to the understanding tiers).
    /// </summary>
    public abstract class Admission
    {
        private Admission() { }

        /// <summary>Admission decided the outcome; <see cref="Record"/> is final.</summary>
        public sealed class Answered(UtteranceRecord record) : Admission
        {
            public UtteranceRecord Record { get; } = record;
        }

        /// <summary>Admitted and waiting for <see cref="CompleteAsync"/> or <see cref="RejectBusyAsync"/>; complete it once.</summary>
        public sealed class Pending : Admission
        {
            internal Pending(UtteranceInput input, string text, RecordBuilder record) => (Input, Text, Record) = (input, text, record);

            public string Id => Record.Id;
            internal UtteranceInput Input { get; }

            /// <summary>The transcript, trimmed.</summary>
            internal string Text { get; }
            internal RecordBuilder Record { get; }
        }
    }
}
