using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using CabinAgent.Actions;

namespace CabinAgent.Understanding;

/// <summary>One thing the driver said, as text.</summary>
/// <param name="Id">Utterance id, carried through logs, records and MQTT user properties.</param>
/// <param name="Text">The transcript.</param>
/// <param name="Lang">
/// The language the pipeline decided once for this utterance (given by the source, else detected in the text, else
/// the configured default). Tiers take it as it is: guessing again could answer one utterance in two languages.
/// </param>
public sealed record Utterance(string Id, string Text, Language Lang);

/// <summary>Who produced a command; on the wire <c>deterministic</c>, <c>llm</c>, <c>safety</c>.</summary>
[JsonConverter(typeof(WireNameConverter<Tier>))]
public enum Tier
{
    /// <summary>The template tier (<c>config/intents/</c>).</summary>
    Deterministic,
    /// <summary>The local model.</summary>
    Llm,
    /// <summary>The safety layer itself: an emergency phrase, or the answer to a pending confirmation.</summary>
    Safety,
}

/// <summary>
/// A tier turns a transcript into an action and parameters. Tiers are tried in order
/// (deterministic first, then the LLM); the first that understands wins. A tier never writes the
/// spoken response or decides confirmation: those come from the catalog.
/// </summary>
public interface IUnderstandingTier
{
    /// <summary>Which tier this is, in records and metrics.</summary>
    Tier Name { get; }

    ValueTask<TierResult> UnderstandAsync(Utterance utterance, CancellationToken cancellationToken);
}

public abstract record TierResult
{
    /// <summary>What the tier saw, for the record: the template that matched, the raw model output.</summary>
    public string? Explanation { get; init; }

    /// <summary>Tier-specific detail for the utterance record (the LLM tier puts raw output and token counts here).</summary>
    public JsonObject? Details { get; init; }
}

/// <summary>The tier understood the utterance.</summary>
/// <param name="Lang">
/// The language to answer in: the utterance's, or for the template tier the language of the template that matched
/// (the grammar the driver used).
/// </param>
public sealed record Understood(string Action, JsonObject Parameters, double Confidence, Language Lang) : TierResult;

/// <summary>The tier could not match the utterance cleanly; the next tier may try.</summary>
public sealed record NotUnderstood(string Reason) : TierResult;

/// <summary>The tier failed (model error, deadline, invalid output); recorded as an error outcome.</summary>
public sealed record TierFailed(string Reason) : TierResult;
