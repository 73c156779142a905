using System.Diagnostics;
using CabinAgent.Actions;
using CabinAgent.Safety;
using CabinAgent.Understanding;
using Microsoft.Extensions.Logging;

namespace CabinAgent.Pipeline;

/// <summary>
/// Transcript in → validation → safety pre-check (emergency phrases, pending confirmations) → understanding
/// tiers → command from the catalog → schema validation → safety gate → publish.
/// Every utterance ends in exactly one outcome (see <see cref="Outcomes"/>); nothing reaches an action
/// topic unless it passed the schema and the gate. Safe to call concurrently: an emergency is never
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
    }

    /// <summary>The tiers in the order they are tried.</summary>
    public IReadOnlyList<IUnderstandingTier> Tiers => _tiers;

    private static List<IUnderstandingTier> SelectTiers(List<IUnderstandingTier> tiers, TierMode mode)
    {
        var selected = mode switch
        {
            TierMode.Deterministic => tiers.Where(t => t.Name == "deterministic").ToList(),
            TierMode.Llm => tiers.Where(t => t.Name == "llm").ToList(),
            _ => tiers,
        };
        if (selected.Count == 0 && mode != TierMode.Auto)
            throw new InvalidOperationException($"tier mode '{mode.ToString().ToLowerInvariant()}' needs that tier configured");
        return selected;
    }

    /// <summary>Runs one utterance all the way: <see cref="AdmitAsync"/>, then <see cref="CompleteAsync"/>.</summary>
    public async Task<UtteranceRecord> ProcessAsync(UtteranceInput input, CancellationToken cancellationToken = default)
    {
        var admission = await AdmitAsync(input, cancellationToken).ConfigureAwait(false);
        return await CompleteAsync(admission, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The cheap, deterministic first half, meant to run the moment an utterance arrives, in arrival order:
    /// validation and the safety pre-check. Emergencies, answers to a confirmation and bad input are finished
    /// here; everything else waits for <see cref="CompleteAsync"/> (the understanding tiers), which a daemon
    /// runs one at a time so commands keep the driver's order.
    /// </summary>
    public async Task<Admission> AdmitAsync(UtteranceInput input, CancellationToken cancellationToken = default)
    {
        var admission = new Admission(input, input.ReceivedTimestamp ?? Stopwatch.GetTimestamp());
        using var scope = _logger.BeginScope(new Dictionary<string, object> { ["UtteranceId"] = input.Id });
        await GuardAsync(admission, () => AdmitStageAsync(admission, cancellationToken), cancellationToken).ConfigureAwait(false);
        if (admission.Finished) Finish(admission);
        return admission;
    }

    /// <summary>
    /// Instead of <see cref="CompleteAsync"/> when the understanding queue is full: the utterance is answered
    /// <c>rejected</c> with reason <see cref="BusyReason"/> at once rather than making everything behind it wait.
    /// </summary>
    public async Task<UtteranceRecord> RejectBusyAsync(Admission admission, CancellationToken cancellationToken = default)
    {
        if (admission.Finished) return admission.Record;
        using var scope = _logger.BeginScope(new Dictionary<string, object> { ["UtteranceId"] = admission.Record.Id });
        admission.Finished = true;
        admission.Record.Outcome = Outcomes.Rejected;
        admission.Record.Error = BusyReason;
        await TrySayAsync(admission.Record, "rejected", _catalog.Message("busy", admission.Record.Lang), cancellationToken).ConfigureAwait(false);
        Finish(admission);
        return admission.Record;
    }

    /// <summary>The reason of a transcript shed because the understanding queue was full.</summary>
    public const string BusyReason = "busy";

    /// <summary>The second half: understanding tiers, command, schema, gate, publish. Returns the final record.</summary>
    public async Task<UtteranceRecord> CompleteAsync(Admission admission, CancellationToken cancellationToken = default)
    {
        if (admission.Finished) return admission.Record;
        using var scope = _logger.BeginScope(new Dictionary<string, object> { ["UtteranceId"] = admission.Record.Id });
        await GuardAsync(admission, () => UnderstandStageAsync(admission, cancellationToken), cancellationToken).ConfigureAwait(false);
        admission.Finished = true;
        Finish(admission);
        return admission.Record;
    }

    private async Task GuardAsync(Admission admission, Func<Task> stage, CancellationToken cancellationToken)
    {
        try
        {
            await stage().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            // One utterance's failure must never take the agent down.
            _logger.LogError(ex, "Utterance failed in the pipeline");
            admission.Finished = true;
            admission.Record.Outcome = Outcomes.Error;
            admission.Record.Error = $"internal error: {ex.GetType().Name}: {ex.Message}";
            await TrySayAsync(admission.Record, "error", _catalog.Message("error", admission.Record.Lang), cancellationToken).ConfigureAwait(false);
        }
    }

    private void Finish(Admission admission)
    {
        var record = admission.Record;
        record.LatencyMs["total"] = Stopwatch.GetElapsedTime(admission.Start).TotalMilliseconds;
        _metrics?.Record(record);
        _logger.LogInformation("Utterance {Outcome} tier={Tier} action={Action} total={TotalMs:F1}ms{Reason}",
            record.Outcome, record.Tier ?? "-", record.Command?.Action ?? "-", record.LatencyMs["total"],
            record.Error is null ? "" : " reason=" + record.Error);
        if (_options.LogTranscripts)
            _logger.LogInformation("Transcript: {Text}", record.Text);
    }

    private async Task AdmitStageAsync(Admission admission, CancellationToken ct)
    {
        var (input, record, stage) = (admission.Input, admission.Record, admission.Stage);
        admission.Finished = true;
        var invalid = input.DecodeError ?? TranscriptValidator.Check(input.Text, input.Lang);
        var text = input.Text?.Trim() ?? "";
        record.Lang = input.Lang is "zh" or "en" ? input.Lang : LanguageDetector.Detect(text) ?? _options.DefaultLang;
        stage.Mark("validate");
        if (invalid is not null)
        {
            record.Outcome = Outcomes.Rejected;
            record.Error = invalid;
            if (!string.IsNullOrWhiteSpace(input.Text) || input.DecodeError is not null)
                await TrySayAsync(record, "rejected", _catalog.Message("rejected", record.Lang), ct).ConfigureAwait(false);
            return;
        }

        var preCheck = _safety.PreCheck(record.Id, text, record.Lang, _time.GetUtcNow());
        stage.Mark("safety");
        switch (preCheck)
        {
            case EmergencyDetected emergency:
                // The driver's life outranks whatever the model is thinking about.
                Interlocked.Exchange(ref _preemption, new CancellationTokenSource()).Cancel();
                record.Tier = "safety";
                record.Explanation = $"emergency phrase '{emergency.MatchedPhrase}'";
                await PublishAsync(admission, emergency.Command, ct).ConfigureAwait(false);
                _safety.RecordEmergencyLatency(record.Id, Stopwatch.GetElapsedTime(admission.Start));
                return;
            case EmergencyQuestion question:
                // Asked at once, on the emergency path: no tier runs, and the answer comes back through PreCheck.
                Interlocked.Exchange(ref _preemption, new CancellationTokenSource()).Cancel();
                record.Tier = "safety";
                record.Outcome = Outcomes.ConfirmationRequested;
                record.Explanation = $"possible emergency {question.Situation}: asking before calling {question.Service}";
                await TrySayAsync(record, "confirmation", question.Spoken, ct).ConfigureAwait(false);
                _safety.RecordEmergencyLatency(record.Id, Stopwatch.GetElapsedTime(admission.Start));
                return;
            case ConfirmationAnswered answer:
                record.Tier = "safety";
                record.Explanation = "answer to a pending confirmation";
                if (answer.Command is null)
                {
                    record.Outcome = Outcomes.Cancelled;
                    record.Error = "the driver declined the pending command";
                    await TrySayAsync(record, "confirmation", answer.Spoken, ct).ConfigureAwait(false);
                    return;
                }
                await PublishAsync(admission, answer.Command, ct, spokenOverride: answer.Spoken).ConfigureAwait(false);
                return;
        }
        admission.Text = text;
        admission.Finished = false;
    }

    private async Task UnderstandStageAsync(Admission admission, CancellationToken ct)
    {
        var (input, record, stage, text) = (admission.Input, admission.Record, admission.Stage, admission.Text);
        var utterance = new Utterance(record.Id, text, input.Lang is "zh" or "en" ? input.Lang : null);
        Understood? understood = null;
        foreach (var tier in _tiers)
        {
            var result = await UnderstandAsync(tier, utterance, ct).ConfigureAwait(false);
            stage.Mark(tier.Name);
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
                record.Outcome = Outcomes.Error;
                record.Error = $"{tier.Name} tier failed: {failed.Reason}";
                record.Explanation = result.Explanation;
                await TrySayAsync(record, "error", _catalog.Message("error", record.Lang), ct).ConfigureAwait(false);
                return;
            }
            record.TierReasons.Add($"{tier.Name}: {((NotUnderstood)result).Reason}");
        }

        if (understood is null)
        {
            record.Outcome = Outcomes.NotUnderstood;
            record.Error = record.TierReasons.Count > 0 ? string.Join("; ", record.TierReasons) : "no understanding tier configured";
            await TrySayAsync(record, "not_understood", _catalog.Message("not_understood", record.Lang), ct).ConfigureAwait(false);
            return;
        }

        record.Lang = understood.Lang is "zh" or "en" ? understood.Lang : record.Lang;
        if (!_catalog.TryGet(understood.Action, out var action))
        {
            // A tier can be wrong; the catalog is the authority on what exists.
            record.Outcome = Outcomes.Rejected;
            record.Error = $"action '{Printable(understood.Action)}' is not in the catalog";
            await TrySayAsync(record, "rejected", _catalog.Message("rejected", record.Lang), ct).ConfigureAwait(false);
            return;
        }
        var command = new VehicleCommand
        {
            Action = action.Name,
            Parameters = understood.Parameters,
            Response = ResponseRenderer.Render(_catalog, action, understood.Parameters, record.Lang),
            Confidence = Math.Round(Math.Clamp(understood.Confidence, 0, 1), 4),
            RequiresConfirmation = action.RequiresConfirmation,
        };

        var gate = _safety.Gate(command, record.Id, record.Lang, _time.GetUtcNow());
        stage.Mark("gate");
        switch (gate)
        {
            case GateRefuse refuse:
                record.Command = command;
                record.Outcome = Outcomes.Refused;
                record.GateRule = refuse.Rule;
                record.Error = $"refused by safety rule {refuse.Rule}: {refuse.Reason}";
                await TrySayAsync(record, "refusal", refuse.Spoken, ct).ConfigureAwait(false);
                return;
            case GateAskConfirmation ask:
                record.Command = ask.Command;
                record.Outcome = Outcomes.ConfirmationRequested;
                if (await ValidateOrRejectAsync(record, ask.Command, ct).ConfigureAwait(false))
                    await TrySayAsync(record, "confirmation", ask.Spoken, ct).ConfigureAwait(false);
                return;
            case GateAllow allow:
                record.GateNotes.AddRange(allow.Notes);
                await PublishAsync(admission, allow.Command, ct).ConfigureAwait(false);
                return;
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
    private async Task PublishAsync(Admission admission, VehicleCommand command, CancellationToken ct, string? spokenOverride = null)
    {
        var (record, stage) = (admission.Record, admission.Stage);
        record.Command = command;
        var valid = await ValidateOrRejectAsync(record, command, ct).ConfigureAwait(false);
        stage.Mark("schema");
        if (!valid)
            return;

        var action = _catalog.Get(command.Action);
        var outgoing = new OutgoingCommand(UtteranceInput.CommandIdFor(admission.Input), record.Id, record.Tier ?? "none", record.Lang, action, command);
        PublishReceipt receipt;
        try
        {
            receipt = await _output.PublishCommandAsync(outgoing, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            _logger.LogError(ex, "Publishing {Action} failed", command.Action);
            record.Outcome = Outcomes.Error;
            record.Error = $"publish failed: {ex.Message}";
            await TrySayAsync(record, "error", _catalog.Message("error", record.Lang), ct).ConfigureAwait(false);
            return;
        }
        stage.Mark("publish");
        record.Topic = receipt.Topic;
        record.CommandId = outgoing.CommandId;
        if (receipt.State == PublishState.Undeliverable)
        {
            record.Outcome = Outcomes.Error;
            record.Error = $"undeliverable, kept in the dead-letter file: {receipt.Reason}";
            await TrySayAsync(record, "error", _catalog.Message("action_failed", record.Lang), ct).ConfigureAwait(false);
            return;
        }
        if (receipt.State == PublishState.Queued)
        {
            record.Outcome = Outcomes.Queued;
            record.Error = "broker unreachable: command kept in the outbox until it reconnects";
            await TrySayAsync(record, "queued", _catalog.Message("queued", record.Lang), ct).ConfigureAwait(false);
            return;
        }
        record.Outcome = Outcomes.Published;
        await TrySayAsync(record, "command", spokenOverride ?? command.Response, ct).ConfigureAwait(false);

        if (receipt.Acknowledgement is { } pendingAck)
        {
            var ack = await pendingAck.WaitAsync(ct).ConfigureAwait(false);
            stage.Mark("ack");
            record.Ack = ack.Status;
            if (!ack.IsOk)
            {
                record.Outcome = Outcomes.Failed;
                record.Error = ack.Status == AckResult.Timeout
                    ? "the ECU did not acknowledge the command in time"
                    : $"the ECU reported a failure: {ack.Reason ?? "no reason given"}";
                await TrySayAsync(record, "error", _catalog.Message("action_failed", record.Lang), ct).ConfigureAwait(false);
            }
        }
    }

    private async Task<bool> ValidateOrRejectAsync(UtteranceRecord record, VehicleCommand command, CancellationToken ct)
    {
        var errors = _schema.Validate(command);
        if (errors.Count == 0)
            return true;
        record.Outcome = Outcomes.Rejected;
        record.Error = "schema: " + string.Join("; ", errors);
        _logger.LogWarning("Command {Action} failed schema validation: {Errors}", command.Action, record.Error);
        await TrySayAsync(record, "rejected", _catalog.Message("rejected", record.Lang), ct).ConfigureAwait(false);
        return false;
    }

    private async Task TrySayAsync(UtteranceRecord record, string kind, string text, CancellationToken ct)
    {
        record.Spoken = text;
        try
        {
            await _output.SayAsync(new SpokenMessage(record.Id, kind, record.Lang, text)
            {
                Reason = record.Outcome == Outcomes.Rejected ? record.Error : null,
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

    /// <summary>An utterance between <see cref="AdmitAsync"/> and <see cref="CompleteAsync"/>.</summary>
    public sealed class Admission
    {
        internal Admission(UtteranceInput input, long start)
        {
            Input = input;
            Start = start;
            Record = new UtteranceRecord { Id = input.Id, Text = input.Text, IdProblem = input.IdProblem };
            Stage = new StageClock(Record, start);
        }

        public UtteranceRecord Record { get; }

        /// <summary>True when admission already decided the outcome (emergency, confirmation answer, bad input).</summary>
        public bool Finished { get; internal set; }

        internal UtteranceInput Input { get; }
        internal long Start { get; }
        internal StageClock Stage { get; }
        internal string Text { get; set; } = "";
    }

    /// <summary>Records per-stage durations as the pipeline moves on.</summary>
    internal sealed class StageClock(UtteranceRecord record, long start)
    {
        private long _last = start;

        public void Mark(string stage)
        {
            var now = Stopwatch.GetTimestamp();
            record.LatencyMs[stage] = Stopwatch.GetElapsedTime(_last, now).TotalMilliseconds;
            _last = now;
        }
    }
}
