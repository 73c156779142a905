using System.Text.Json;
using System.Text.Json.Nodes;

namespace CabinAgent.Evaluation;

/// <summary>The full report as JSON (snake_case, NaN written as null), every failed case included.</summary>
public static class ReportJson
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static JsonObject ToJson(EvalReport report)
    {
        var node = (JsonObject)JsonSerializer.SerializeToNode(report, Options)!;
        ReplaceNaN(node);
        return node;
    }

    public static string Serialize(EvalReport report) => ToJson(report).ToJsonString(Options);

    public static void Write(EvalReport report, string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        File.WriteAllText(path, Serialize(report) + "\n");
    }

    // NaN means "not measured"; JSON readers expect null there, not the string "NaN".
    private static void ReplaceNaN(JsonNode node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var key in obj.Select(p => p.Key).ToList())
                {
                    if (obj[key] is JsonValue v && IsNaN(v)) obj[key] = null;
                    else if (obj[key] is { } child) ReplaceNaN(child);
                }
                break;
            case JsonArray arr:
                for (var i = 0; i < arr.Count; i++)
                {
                    if (arr[i] is JsonValue v && IsNaN(v)) arr[i] = null;
                    else if (arr[i] is { } child) ReplaceNaN(child);
                }
                break;
        }
    }

    private static bool IsNaN(JsonValue v) =>
        v.GetValueKind() == JsonValueKind.String && v.TryGetValue<string>(out var s) && s is "NaN" or "Infinity" or "-Infinity";
}
