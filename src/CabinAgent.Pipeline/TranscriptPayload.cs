using System.Text.Json;
using System.Text.Json.Nodes;

namespace CabinAgent.Pipeline;

/// <summary>
/// Reads a transcript from the bus (<c>agent/transcript</c>): plain UTF-8 text, or <c>{"id", "text", "lang"}</c>.
/// Anything unreadable still becomes an utterance with a <see cref="UtteranceInput.DecodeError"/>, so the pipeline
/// answers it with the reason: every payload on the bus gets exactly one answer, an empty one included.
/// </summary>
public static class TranscriptPayload
{
    /// <param name="HasSourceId">True when the transcript named its own valid id: the id and the payload then identify it
    /// for good, so a second delivery of the same bytes is the same utterance.</param>
    public sealed record Parsed(UtteranceInput Input, bool HasSourceId);

    public static Parsed Parse(ReadOnlySpan<byte> payload, long receivedTimestamp)
    {
        try
        {
            return ParseUnchecked(payload, receivedTimestamp);
        }
        catch (InvalidOperationException)
        {
            // System.Text.Json throws this, not JsonException, when a field's string escape is not text ("\ud800").
            return Failed("transcript holds a string that is not valid text (an unpaired surrogate escape)", receivedTimestamp);
        }
    }

    /// <summary>Anything that could not be read at all (a bug here): still one answer, with the reason.</summary>
    public static Parsed Unreadable(string reason, long receivedTimestamp) => Failed(reason, receivedTimestamp);

    private static Parsed ParseUnchecked(ReadOnlySpan<byte> payload, long receivedTimestamp)
    {
        if (!TranscriptValidator.TryDecode(payload, out var text, out var reason))
            return Failed(reason!, receivedTimestamp);
        if (string.IsNullOrWhiteSpace(text))
            return Failed("empty transcript", receivedTimestamp);
        if (!text.TrimStart().StartsWith('{'))
            return new Parsed(new UtteranceInput(UtteranceInput.NewId(), text, null, receivedTimestamp), false);

        JsonObject obj;
        try
        {
            if (JsonNode.Parse(text, documentOptions: TranscriptValidator.StrictJson) is not JsonObject parsed)
                return new Parsed(new UtteranceInput(UtteranceInput.NewId(), text, null, receivedTimestamp), false);
            obj = parsed;
        }
        catch (JsonException)
        {
            // Not JSON after all ("{smile}" is something a driver can say): the text goes to the tiers as it is.
            return new Parsed(new UtteranceInput(UtteranceInput.NewId(), text, null, receivedTimestamp), false);
        }

        var (id, idProblem) = obj["id"] switch
        {
            null => (UtteranceInput.NewId(), null),
            JsonValue v when v.TryGetValue<string>(out var s) => UtteranceInput.ValidId(s),
            _ => (UtteranceInput.NewId(), "utterance id is not a string"),
        };
        string? error = null;
        var body = obj["text"] is JsonValue tv && tv.TryGetValue<string>(out var t) ? t : null;
        if (body is null)
            error = obj.ContainsKey("text") && obj["text"] is not null ? "transcript field 'text' is not a string" : "transcript has no 'text'";
        else if (string.IsNullOrWhiteSpace(body))
            error = "empty transcript";
        string? lang = null;
        if (obj["lang"] is { } langNode)
        {
            if (langNode is JsonValue lv && lv.TryGetValue<string>(out var l)) lang = l;
            else error ??= "transcript field 'lang' is not a string";
        }
        var input = error is null
            ? new UtteranceInput(id, body, lang, receivedTimestamp) { IdProblem = idProblem }
            : new UtteranceInput(id, null, null, receivedTimestamp, DecodeError: error) { IdProblem = idProblem };
        return new Parsed(input, idProblem is null && obj["id"] is not null);
    }

    private static Parsed Failed(string reason, long receivedTimestamp) =>
        new(new UtteranceInput(UtteranceInput.NewId(), null, null, receivedTimestamp, DecodeError: reason), false);
}
