using System.Text.Json;
using System.Text.Json.Nodes;

namespace CabinAgent.Host.Replay;

/// <summary>One line of a replay file.</summary>
internal abstract record ReplayItem(int Line);

/// <summary><c>{"id", "text", "lang"?, "vehicle_state"?}</c></summary>
internal sealed record UtteranceItem(int Line, string Id, string? Text, string? Lang, JsonObject? VehicleState) : ReplayItem(Line);

/// <summary><c>{"t_ms", "topic", "payload"}</c>: a recorded telemetry message.</summary>
internal sealed record TelemetryItem(int Line, long TimeMs, string Topic, JsonNode Payload) : ReplayItem(Line);

/// <summary>A line that could not be read; it still gets an output line with the reason.</summary>
internal sealed record InvalidItem(int Line, string Id, string Reason) : ReplayItem(Line);

internal static class ReplayInput
{
    public const int MaxLineBytes = 64 * 1024;

    public static IEnumerable<ReplayItem> Read(TextReader reader, string source)
    {
        var lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line) || line.TrimStart().StartsWith("//", StringComparison.Ordinal))
                continue;
            yield return Parse(line, lineNumber, source);
        }
    }

    public static ReplayItem Parse(string line, int lineNumber, string source = "input")
    {
        var fallbackId = $"{Path.GetFileNameWithoutExtension(source)}:{lineNumber}";
        if (line.Length > MaxLineBytes)
            return new InvalidItem(lineNumber, fallbackId, $"line {lineNumber}: longer than {MaxLineBytes} characters");
        JsonObject obj;
        try
        {
            if (JsonNode.Parse(line) is not JsonObject parsed)
                return new InvalidItem(lineNumber, fallbackId, $"line {lineNumber}: not a JSON object");
            obj = parsed;
        }
        catch (JsonException ex)
        {
            return new InvalidItem(lineNumber, fallbackId, $"line {lineNumber}: invalid JSON ({ex.Message})");
        }

        try
        {
            if (obj.ContainsKey("t_ms") || obj.ContainsKey("topic"))
                return ParseTelemetry(obj, lineNumber, fallbackId);

            var id = obj["id"] is JsonValue idValue && idValue.TryGetValue<string>(out var s) && s.Length is > 0 and <= 128 ? s : fallbackId;
            if (!TryOptionalString(obj, "text", out var text))
                return new InvalidItem(lineNumber, id, $"line {lineNumber}: \"text\" must be a string");
            if (!TryOptionalString(obj, "lang", out var lang))
                return new InvalidItem(lineNumber, id, $"line {lineNumber}: \"lang\" must be a string");
            if (obj["vehicle_state"] is not (null or JsonObject))
                return new InvalidItem(lineNumber, id, $"line {lineNumber}: \"vehicle_state\" must be an object");
            var state = obj["vehicle_state"] as JsonObject;
            return new UtteranceItem(lineNumber, id, text, lang, state);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException)
        {
            return new InvalidItem(lineNumber, fallbackId, $"line {lineNumber}: {ex.Message}");
        }
    }

    private static bool TryOptionalString(JsonObject obj, string key, out string? value)
    {
        value = null;
        return obj[key] is null || (obj[key] is JsonValue v && v.TryGetValue(out value));
    }

    private static ReplayItem ParseTelemetry(JsonObject obj, int lineNumber, string fallbackId)
    {
        if (obj["t_ms"] is not JsonValue tv || !tv.TryGetValue<long>(out var t) || t < 0)
            return new InvalidItem(lineNumber, fallbackId, $"line {lineNumber}: telemetry needs a non-negative integer \"t_ms\"");
        if (obj["topic"] is not JsonValue topicValue || !topicValue.TryGetValue<string>(out var topic) || topic.Length == 0)
            return new InvalidItem(lineNumber, fallbackId, $"line {lineNumber}: telemetry needs a \"topic\" string");
        if (obj["payload"] is not { } payload)
            return new InvalidItem(lineNumber, fallbackId, $"line {lineNumber}: telemetry needs a \"payload\"");
        return new TelemetryItem(lineNumber, t, topic, payload);
    }
}
