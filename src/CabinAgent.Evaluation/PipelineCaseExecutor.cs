using CabinAgent.Pipeline;
using CabinAgent.Safety;
using PipelineOutcomes = CabinAgent.Pipeline.Outcomes;

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
            PipelineOutcomes.Published => Outcomes.Published,
            PipelineOutcomes.Refused => Outcomes.Refused,
            PipelineOutcomes.ConfirmationRequested => Outcomes.ConfirmationRequested,
            PipelineOutcomes.NotUnderstood => Outcomes.NotUnderstood,
            _ => Outcomes.Error, // rejected, cancelled, error: nothing was executed
        };
        return new CaseOutcome
        {
            Outcome = outcome,
            Action = record.Command?.Action,
            Parameters = record.Command is null ? null : (System.Text.Json.Nodes.JsonObject)record.Command.Parameters.DeepClone(),
            Tier = record.Tier,
            Rule = record.GateRule,
            Alerts = alerts,
            Clamps = record.GateNotes.Select(ClampRuleOf).OfType<string>().Distinct().ToList(),
            Confidence = record.Command?.Confidence,
            SchemaValid = SchemaValidity(record),
            LatencyMs = record.LatencyMs.GetValueOrDefault("total"),
            Detail = record.Outcome == outcome ? record.Error : $"{record.Outcome}: {record.Error}",
        };
    }

    /// <summary>The rule id a gate note starts with (<c>window_limit_at_speed: percent 100 -> 30 at 110 km/h</c>).</summary>
    internal static string? ClampRuleOf(string note)
    {
        var colon = note.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 ? note[..colon] : null;
    }

    /// <summary>
    /// Whether a tier's command was well-formed: a command the schema (or the catalog) rejected is not; an LLM tier that
    /// failed without any command counts as malformed output; a tier that understood nothing produced no JSON at all.
    /// </summary>
    internal static bool? SchemaValidity(UtteranceRecord record)
    {
        var invalid = record.Outcome == PipelineOutcomes.Rejected && record.Tier is not null &&
                      (record.Error?.StartsWith("schema:", StringComparison.Ordinal) == true || record.Error?.Contains("not in the catalog", StringComparison.Ordinal) == true);
        if (invalid)
            return false;
        if (record.Command is not null)
            return true;
        if (record.Outcome == PipelineOutcomes.Error && record.Tier == "llm")
            return false;
        return null;
    }
}
