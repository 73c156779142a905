using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using CabinAgent.Actions;
using CabinAgent.Llm.Prompting;

namespace CabinAgent.Training.Corpus;

/// <summary>One line of a corpus file (the format <c>cabin-agent dataset synth</c> writes).</summary>
public sealed record CorpusExample(string Text, string Lang, string Action, JsonObject Parameters, string Kind);

/// <summary>A corpus directory read and checked against the catalog: training and validation examples.</summary>
public sealed record TrainingCorpus(string Directory, IReadOnlyList<CorpusExample> Train, IReadOnlyList<CorpusExample> Valid, string RecipeHash);

public sealed class CorpusException(string message) : Exception(message);

/// <summary>
/// Reads <c>DIR/train.jsonl</c>, <c>DIR/valid.jsonl</c> and (when present) <c>DIR/manifest.json</c>. The training
/// project keeps its own small reader rather than depending on the generator's project: the format is the contract
/// (docs/llm.md), and the trainer only reads it. Every example is checked against the catalog's schema, because a
/// model trained on an action the catalog does not have would publish it; a bad line is an error naming the file,
/// the line and what to do, never a silently skipped example.
/// </summary>
public static class CorpusReader
{
    private const string WhatToDo = "make a corpus with `cabin-agent dataset synth --out DIR` (docs/llm.md)";

    public static TrainingCorpus Read(string directory, ActionCatalog catalog)
    {
        if (!System.IO.Directory.Exists(directory))
            throw new CorpusException($"corpus directory not found: {directory}; {WhatToDo}");
        var schema = CommandSchema.FromCatalog(catalog);
        var train = ReadFile(Path.Combine(directory, "train.jsonl"), catalog, schema);
        var valid = ReadFile(Path.Combine(directory, "valid.jsonl"), catalog, schema);
        return new TrainingCorpus(directory, train, valid, RecipeHash(directory));
    }

    /// <summary>The generator's recipe hash from manifest.json, or (no manifest) a hash of the two files' bytes.</summary>
    private static string RecipeHash(string directory)
    {
        var manifest = Path.Combine(directory, "manifest.json");
        if (File.Exists(manifest) && JsonNode.Parse(File.ReadAllText(manifest)) is JsonObject m
            && (m["recipe_hash"] ?? m["recipeHash"]) is JsonValue v && v.TryGetValue<string>(out var hash))
            return hash;
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in new[] { "train.jsonl", "valid.jsonl" })
            sha.AppendData(File.ReadAllBytes(Path.Combine(directory, file)));
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    private static List<CorpusExample> ReadFile(string path, ActionCatalog catalog, CommandSchema schema)
    {
        if (!File.Exists(path))
            throw new CorpusException($"corpus file not found: {path}; {WhatToDo}");
        var examples = new List<CorpusExample>();
        var lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            examples.Add(Parse(line, catalog, schema, $"{path}:{lineNo}"));
        }
        if (examples.Count == 0)
            throw new CorpusException($"corpus file {path} has no examples; {WhatToDo}");
        return examples;
    }

    private static CorpusExample Parse(string line, ActionCatalog catalog, CommandSchema schema, string where)
    {
        JsonObject o;
        try
        {
            o = JsonNode.Parse(line) as JsonObject ?? throw new CorpusException($"{where}: not a JSON object");
        }
        catch (JsonException ex)
        {
            throw new CorpusException($"{where}: not JSON ({ex.Message})");
        }
        var text = Str(o, "text", where);
        var lang = Str(o, "lang", where);
        var action = Str(o, "action", where);
        var kind = o["kind"] is JsonValue k && k.TryGetValue<string>(out var ks) ? ks : "command";
        var parameters = o["parameters"] as JsonObject ?? [];
        var example = new CorpusExample(text, lang, action, parameters, kind);
        if (Problem(example, catalog, schema) is { } problem) throw new CorpusException($"{where}: {problem}");
        return example;
    }

    /// <summary>Why <paramref name="e"/> cannot be trained on with this catalog, or null when it can.</summary>
    public static string? Problem(CorpusExample e, ActionCatalog catalog, CommandSchema schema)
    {
        if (e.Text.Length == 0) return "empty text";
        if (e.Lang is not (LanguageDetector.Chinese or LanguageDetector.English))
            return $"lang must be \"zh\" or \"en\", not \"{e.Lang}\"";
        if (e.Action == CabinPrompt.NoneAction)
            return e.Parameters.Count > 0 ? "NONE takes no parameters" : null;
        if (!catalog.TryGet(e.Action, out var definition))
            return $"action {e.Action} is not in the catalog; regenerate the corpus from this catalog or add the action to config/actions.json";
        var envelope = new JsonObject
        {
            ["action"] = e.Action, ["parameters"] = e.Parameters.DeepClone(), ["response"] = "", ["confidence"] = 1.0, ["requires_confirmation"] = false,
        };
        var problems = schema.Validate(envelope.ToJsonString());
        if (problems.Count > 0) return $"{e.Action} does not match the catalog schema: {problems[0]}";
        foreach (var def in definition.Parameters.Where(d => d.Span))
            if (e.Parameters[def.Name] is JsonValue v && v.TryGetValue<string>(out var s) && !e.Text.Contains(s, StringComparison.Ordinal))
                return $"{def.Name} \"{s}\" is copied from the utterance but does not occur in it";
        return null;
    }

    private static string Str(JsonObject o, string key, string where) =>
        o[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new CorpusException($"{where}: missing string \"{key}\"");
}
