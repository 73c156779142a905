using System.Text.Json.Nodes;

namespace CabinAgent.Understanding;

/// <summary>One thing the driver said, as text.</summary>
/// <param name="Id">Utterance id, carried through logs, records and MQTT user properties.</param>
/// <param name="Text">The transcript.</param>
/// <param name="Lang"><c>zh</c>, <c>en</c>, or null when unknown (the tier decides).</param>
public sealed record Utterance(string Id, string Text, string? Lang);

/// <summary>
/// A tier turns a transcript into an action and parameters. Tiers are tried in order
/// (deterministic first, then the LLM); the first that understands wins. A tier never writes the
/// spoken response or decides confirmation: those come from the catalog.
/// </summary>
public interface IUnderstandingTier
{
    /// <summary>Name in records and metrics: <c>deterministic</c> or <c>llm</c>.</summary>
    string Name { get; }

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
/// <param name="Lang">The language the driver spoke, for the response.</param>
public sealed record Understood(string Action, JsonObject Parameters, double Confidence, string Lang) : TierResult;

/// <summary>The tier could not match the utterance cleanly; the next tier may try.</summary>
public sealed record NotUnderstood(string Reason) : TierResult;

/// <summary>The tier failed (model error, deadline, invalid output); recorded as an error outcome.</summary>
public sealed record TierFailed(string Reason) : TierResult;
