using System.Text.Json;
using System.Text.Json.Nodes;
using CabinAgent.Actions;

namespace CabinAgent.Corpus;

/// <summary>The kinds of example in the corpus (the contract with the trainer).</summary>
public static class CorpusKinds
{
    public const string Command = "command";
    public const string Negative = "negative";
    public const string NearMiss = "near_miss";
    public const string Emergency = "emergency";

    /// <summary>The action of a remark that is no command (negatives and near-misses).</summary>
    public const string NoAction = "NONE";

    public static readonly IReadOnlyList<string> All = [Command, Emergency, Negative, NearMiss];
}

/// <summary>
/// One line of <c>train.jsonl</c>/<c>valid.jsonl</c>:
/// <c>{"text","lang","action","parameters","kind"}</c>, in this key order, UTF-8 as is (no \u escapes).
/// </summary>
public sealed record CorpusExample(string Text, string Lang, string Action, JsonObject Parameters, string Kind)
{
    public string ToJsonLine()
    {
        var line = new JsonObject
        {
            ["text"] = Text,
            ["lang"] = Lang,
            ["action"] = Action,
            ["parameters"] = Parameters.DeepClone(),
            ["kind"] = Kind,
        };
        return line.ToJsonString(CommandJson.Options);
    }

    /// <summary>Parses one line; throws <see cref="FormatException"/> naming what is wrong.</summary>
    public static CorpusExample Parse(string line)
    {
        JsonObject obj;
        try
        {
            obj = JsonNode.Parse(line) as JsonObject ?? throw new FormatException("not a JSON object");
        }
        catch (JsonException ex)
        {
            throw new FormatException($"not valid JSON: {ex.Message}", ex);
        }
        string Field(string name) => obj[name] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0
            ? s
            : throw new FormatException($"missing or empty string field '{name}'");
        var parameters = obj["parameters"] as JsonObject ?? throw new FormatException("'parameters' must be an object");
        return new CorpusExample(Field("text"), Field("lang"), Field("action"), (JsonObject)parameters.DeepClone(), Field("kind"));
    }
}
