using System.Text.Json;
using System.Text.Json.Nodes;

namespace CabinAgent.Host.Replay;

/// <summary>One line of a replay file.</summary>
internal abstract record ReplayItem(int Line);

/// <summary>
/// <c>{"id", "text", "lang"?, "vehicle_state"?, "t_ms"?}</c>; a line with a <c>vehicle_state</c> and no <c>text</c>
/// only sets the state.
/// </summary>
internal sealed record UtteranceItem(int Line, string Id, string? Text, string? Lang, JsonObject? VehicleState, long? TimeMs = null)
    : ReplayItem(Line)
{
    public bool StateOnly { get; init; }

    /// <summary>A recorded WAV to transcribe instead of <see cref="Text"/> (resolved against the input file's folder).</summary>
    public string? Audio { get; init; }
}

/// <summary><c>{"t_ms", "topic", "payload"}</c>: a recorded telemetry message.</summary>
internal sealed record TelemetryItem(int Line, long TimeMs, string Topic, JsonNode Payload) : ReplayItem(Line);

/// <summary>A line that could not be read; it still gets an output line with the reason.</summary>
internal sealed record InvalidItem(int Line, string Id, string Reason) : ReplayItem(Line);

internal static class ReplayInput
{
    public const int MaxLineBytes = 64 * 1024;

    /// <summary>A WAV file (or each WAV of a folder, in name order) as utterance lines, id = file name.</summary>
    public static IEnumerable<ReplayItem> FromAudio(string path)
    {
        var files = Directory.Exists(path)
            ? Directory.GetFiles(path, "*.wav").Order(StringComparer.Ordinal).ToArray()
            : [path];
        for (var i = 0; i < files.Length; i++)
            yield return new UtteranceItem(i + 1, Path.GetFileNameWithoutExtension(files[i]), null, null, null) { Audio = Path.GetFullPath(files[i]) };
    }

    public static bool IsAudio(string path) =>
        Directory.Exists(path) || path.EndsWith(".wav", StringComparison.OrdinalIgnoreCase);

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
            if (JsonNode.Parse(line, documentOptions: Pipeline.TranscriptValidator.StrictJson) is not JsonObject parsed)
                return new InvalidItem(lineNumber, fallbackId, $"line {lineNumber}: not a JSON object");
            obj = parsed;
        }
        catch (JsonException ex)
        {
            return new InvalidItem(lineNumber, fallbackId, $"line {lineNumber}: invalid JSON ({ex.Message})");
        }
        catch (ArgumentException)
        {
            // The line itself is not valid text (an unpaired surrogate from a broken writer).
            return new InvalidItem(lineNumber, fallbackId, $"line {lineNumber}: not valid UTF-16/UTF-8 text");
        }

        try
        {
            if (obj.ContainsKey("topic"))
                return ParseTelemetry(obj, lineNumber, fallbackId);
            long? time = null;
            if (obj["t_ms"] is { } timeNode)
            {
                if (timeNode is not JsonValue tv || !tv.TryGetValue<long>(out var t) || t < 0)
                    return new InvalidItem(lineNumber, fallbackId, $"line {lineNumber}: \"t_ms\" must be a non-negative integer");
                time = t;
            }

            var id = obj["id"] is JsonValue idValue && idValue.TryGetValue<string>(out var s) && s.Length is > 0 and <= 128 ? s : fallbackId;
            if (!TryOptionalString(obj, "text", out var text))
                return new InvalidItem(lineNumber, id, $"line {lineNumber}: \"text\" must be a string");
            if (!TryOptionalString(obj, "lang", out var lang))
                return new InvalidItem(lineNumber, id, $"line {lineNumber}: \"lang\" must be a string");
            if (!TryOptionalString(obj, "audio", out var audio))
                return new InvalidItem(lineNumber, id, $"line {lineNumber}: \"audio\" must be a path string");
            if (obj["vehicle_state"] is not (null or JsonObject))
                return new InvalidItem(lineNumber, id, $"line {lineNumber}: \"vehicle_state\" must be an object");
            var state = obj["vehicle_state"] as JsonObject;
            var stateOnly = state is not null && !obj.ContainsKey("text") && audio is null;
            if (audio is not null && !Path.IsPathRooted(audio))
                audio = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(source)) ?? ".", audio);
            return new UtteranceItem(lineNumber, id, text, lang, state, time) { StateOnly = stateOnly, Audio = audio };
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException)
        {
            return new InvalidItem(lineNumber, fallbackId, $"line {lineNumber}: {ex.Message}");
        }
    }

    /// <summary>
    /// Interleaves several files by time. A line without <c>t_ms</c> keeps the time of the line before it in its
    /// own file; equal times keep file order, then line order, so the merge is the same every run.
    /// </summary>
    public static IEnumerable<ReplayItem> MergeByTime(IReadOnlyList<List<ReplayItem>> sources)
    {
        var timed = new List<(long Time, int Source, int Index, ReplayItem Item)>();
        for (var s = 0; s < sources.Count; s++)
        {
            long last = 0;
            for (var i = 0; i < sources[s].Count; i++)
            {
                var item = sources[s][i];
                last = item switch
                {
                    TelemetryItem t => t.TimeMs,
                    UtteranceItem { TimeMs: { } u } => u,
                    _ => last,
                };
                timed.Add((last, s, i, item));
            }
        }
        return timed.OrderBy(t => t.Time).ThenBy(t => t.Source).ThenBy(t => t.Index).Select(t => t.Item);
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
