using System.Text.Json.Nodes;
using CabinAgent.Pipeline;
using CabinAgent.Understanding;

namespace CabinAgent.Evaluation;

/// <summary>What the agent did with one case, as observed by the runner.</summary>
public sealed record CaseOutcome
{
    /// <summary>
    /// What the metrics score: <see cref="Outcome.Published"/>, <see cref="Outcome.Refused"/>,
    /// <see cref="Outcome.ConfirmationRequested"/>, <see cref="Outcome.NotUnderstood"/>, or <see cref="Outcome.Error"/>
    /// for everything that executed nothing (rejected, cancelled, failed on the way).
    /// </summary>
    public required Outcome Outcome { get; init; }

    /// <summary>The command's action; null when nothing was understood.</summary>
    public string? Action { get; init; }

    public JsonObject? Parameters { get; init; }

    /// <summary>Who answered; null when no tier understood.</summary>
    public Tier? Tier { get; init; }

    /// <summary>The gate rule that refused the command.</summary>
    public string? Rule { get; init; }

    /// <summary>Gate clamp rule ids applied to the published command.</summary>
    public IReadOnlyList<string> Clamps { get; init; } = [];

    /// <summary>Safety alert kinds raised while the case ran.</summary>
    public IReadOnlyList<string> Alerts { get; init; } = [];

    /// <summary>The command's confidence, when a command was produced.</summary>
    public double? Confidence { get; init; }

    /// <summary>
    /// Whether the command JSON the tier produced passed the command schema; null when no command was produced
    /// (not understood, or refused before any tier ran).
    /// </summary>
    public bool? SchemaValid { get; init; }

    /// <summary>Wall-clock time from the utterance entering the pipeline to its outcome.</summary>
    public double LatencyMs { get; init; }

    /// <summary>Why: the refusal's reason, the error, the not-understood reason.</summary>
    public string? Detail { get; init; }

    /// <summary>The predicted action as scored: nothing counts as executed unless a command came out.</summary>
    public string? ScoredAction => Outcome is Outcome.NotUnderstood or Outcome.Error ? null : Action;
}
