using System.Text.Json;
using System.Text.Json.Nodes;

using CabinAgent.Actions;
using CabinAgent.Pipeline;

namespace CabinAgent.Evaluation;

public sealed class DatasetException(string message) : Exception(message);

/// <summary>Reads an evaluation set (JSON Lines). Shape errors name the file and line; meaning is checked by <see cref="DatasetValidator"/>.</summary>
public static class EvalDataset
{
    public static IReadOnlyList<EvalCase> Load(string path)
    {
        if (!File.Exists(path))
            throw new DatasetException($"dataset not found: {path}");
        using var reader = new StreamReader(path, System.Text.Encoding.UTF8);
        return Parse(reader, Path.GetFileName(path));
    }

    public static IReadOnlyList<EvalCase> Parse(TextReader reader, string sourceName = "dataset")
    {
        var cases = new List<EvalCase>();
        var lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
                continue;
            cases.Add(ParseLine(line, $"{sourceName}:{lineNumber}", lineNumber));
        }
        if (cases.Count == 0)
            throw new DatasetException($"{sourceName}: no cases");
        return cases;
    }

    public static EvalCase ParseLine(string line, string where, int lineNumber = 0)
    {
        JsonObject obj;
        try
        {
            obj = JsonNode.Parse(line) as JsonObject ?? throw new DatasetException($"{where}: not a JSON object");
        }
        catch (JsonException ex)
        {
            throw new DatasetException($"{where}: invalid JSON: {ex.Message}");
        }

        var expectedNode = obj["expected"] as JsonObject ?? throw new DatasetException($"{where}: 'expected' must be an object");
        JsonObject? parameters = null;
        if (expectedNode["parameters"] is { } p)
            parameters = p as JsonObject ?? throw new DatasetException($"{where}: 'expected.parameters' must be an object");
        var expected = new ExpectedOutcome(
            Action: OptionalString(expectedNode, "action", where),
            Parameters: (JsonObject?)parameters?.DeepClone(),
            Outcome: OutcomeOf(RequiredString(expectedNode, "outcome", where), where),
            Alert: OptionalString(expectedNode, "alert", where),
            Rule: OptionalString(expectedNode, "rule", where),
            Tier: OptionalString(expectedNode, "tier", where),
            Clamp: OptionalString(expectedNode, "clamp", where));

        JsonObject? state = null;
        if (obj["vehicle_state"] is { } s)
            state = (JsonObject)(s as JsonObject ?? throw new DatasetException($"{where}: 'vehicle_state' must be an object")).DeepClone();

        return new EvalCase(
            Id: RequiredString(obj, "id", where),
            Category: RequiredString(obj, "category", where),
            Lang: RequiredString(obj, "lang", where),
            Input: RequiredString(obj, "input", where),
            VehicleState: state,
            Expected: expected,
            Priority: RequiredString(obj, "priority", where),
            Line: lineNumber);
    }

    private static Outcome OutcomeOf(string wire, string where) =>
        WireName.Parse<Outcome>(wire) ?? throw new DatasetException($"{where}: unknown expected outcome '{wire}'");

    private static string RequiredString(JsonObject obj, string name, string where) =>
        OptionalString(obj, name, where) ?? throw new DatasetException($"{where}: '{name}' is required");

    private static string? OptionalString(JsonObject obj, string name, string where)
    {
        var node = obj[name];
        if (node is null)
            return null;
        if (node is JsonValue v && v.TryGetValue<string>(out var s))
            return s;
        throw new DatasetException($"{where}: '{name}' must be a string");
    }

    /// <summary>The split a file holds, from its name: <c>dev</c>, <c>test</c>, or <c>custom</c>.</summary>
    public static string SplitName(string path)
    {
        var name = Path.GetFileNameWithoutExtension(path);
        return name is "dev" or "test" ? name : "custom";
    }
}
