using CabinAgent.Pipeline;
using CabinAgent.Safety;
using CabinAgent.Understanding;

namespace CabinAgent.Evaluation;

/// <summary>
/// Runs a case through the real <see cref="UtterancePipeline"/> — the daemon's code path — built by the Host's
/// composition root around a fresh safety layer holding the case's vehicle state: the daemon's tiers, catalog, schema,
/// options and output (a loopback broker, or a dry run). A pipeline per case because its safety layer is per case
/// (<see cref="ICaseSafety"/>: no pending confirmation or alert hold leaks into the next case); everything else is shared.
/// </summary>
public sealed class PipelineCaseExecutor(
    ICaseSafetyFactory safety,
    Func<ISafetyLayer, UtterancePipeline> pipelineAround,
    TimeProvider? time = null) : ICaseExecutor
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>How long after the utterance the safety layer may take to raise an alert the state calls for (hold times).</summary>
    public static readonly TimeSpan AlertWindow = TimeSpan.FromSeconds(30);

    public async ValueTask<CaseOutcome> RunAsync(EvalCase evalCase, CancellationToken cancellationToken)
    {
        var caseSafety = safety.Create();
        var now = _time.GetUtcNow();
        caseSafety.ApplyVehicleState(DefaultVehicleState.For(evalCase), now);
        var pipeline = pipelineAround(caseSafety.Layer);

        var input = new UtteranceInput(evalCase.Id, evalCase.Input, evalCase.Lang) { AcceptedUnixMs = now.ToUnixTimeMilliseconds() };
        var record = await pipeline.ProcessAsync(input, cancellationToken).ConfigureAwait(false);
        var alerts = caseSafety.RaisedAlerts(now + AlertWindow);
        return FromRecord(record, alerts);
    }

    /// <summary>Maps the pipeline's record to what the metrics score.</summary>
    public static CaseOutcome FromRecord(UtteranceRecord record, IReadOnlyList<string> alerts)
    {
        var outcome = record.Outcome switch
        {
            Outcome.Published or Outcome.Refused or Outcome.ConfirmationRequested or Outcome.NotUnderstood => record.Outcome,
            // Nothing was executed.
            Outcome.Rejected or Outcome.Cancelled or Outcome.Queued or Outcome.Failed or Outcome.Error => Outcome.Error,
            _ => throw new ArgumentOutOfRangeException(nameof(record), record.Outcome, "unknown outcome"),
        };
        return new CaseOutcome
        {
            Outcome = outcome,
            Action = record.Command?.Action,
            Parameters = record.Command is null ? null : (System.Text.Json.Nodes.JsonObject)record.Command.Parameters.DeepClone(),
            Tier = record.Tier,
            Rule = record.GateRule,
            Alerts = alerts,
            Clamps = record.GateClamps.Select(c => c.Rule).Distinct().ToList(),
            Confidence = record.Command?.Confidence,
            SchemaValid = SchemaValidity(record),
            LatencyMs = record.LatencyMs.GetValueOrDefault("total"),
            Detail = record.Outcome == outcome ? record.Error : $"{record.Outcome.Wire()}: {record.Error}",
        };
    }

    /// <summary>
    /// Whether a tier's command was well-formed: a command the schema (or the catalog) rejected is not; an LLM tier that
    /// failed without any command counts as malformed output; a tier that understood nothing produced no JSON at all.
    /// </summary>
    internal static bool? SchemaValidity(UtteranceRecord record)
    {
        if (record.Tier is not null && record.Rejection is Rejection.SchemaInvalid or Rejection.NotInCatalog)
            return false;
        if (record.Command is not null)
            return true;
        if (record.Outcome == Outcome.Error && record.Tier == Tier.Llm)
            return false;
        return null;
    }
}
