using CabinAgent.Actions;
using CabinAgent.Pipeline;
using CabinAgent.Understanding;
using Microsoft.Extensions.Logging;

namespace CabinAgent.Evaluation;

/// <summary>
/// Runs a case through the real <see cref="UtterancePipeline"/> — the daemon's code path — with the shared tiers, a fresh
/// safety layer holding the case's vehicle state, and the given output (a loopback broker, or a dry run).
/// </summary>
public sealed class PipelineCaseExecutor(
    ActionCatalog catalog,
    CommandSchema schema,
    IReadOnlyList<IUnderstandingTier> tiers,
    ICaseSafetyFactory safety,
    IAgentOutput output,
    PipelineOptions options,
    ILoggerFactory loggers,
    TimeProvider? time = null) : ICaseExecutor
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ILogger<UtterancePipeline> _pipelineLogger = loggers.CreateLogger<UtterancePipeline>();

    /// <summary>How long after the utterance the safety layer may take to raise an alert the state calls for (hold times).</summary>
    public static readonly TimeSpan AlertWindow = TimeSpan.FromSeconds(30);

    public async ValueTask<CaseOutcome> RunAsync(EvalCase evalCase, CancellationToken cancellationToken)
    {
        var caseSafety = safety.Create();
        var now = _time.GetUtcNow();
        caseSafety.ApplyVehicleState(DefaultVehicleState.For(evalCase), now);
        var pipeline = new UtterancePipeline(catalog, schema, tiers, caseSafety.Layer, output, options, _pipelineLogger, _time);

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
