using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using CabinAgent.Actions;
using CabinAgent.Llm.Native;
using CabinAgent.Llm.Prompting;
using CabinAgent.Training.Corpus;

namespace CabinAgent.Training.Tests;

/// <summary>
/// A corpus for plumbing only, in the format of <c>dataset synth</c>, made from what the repository has today and
/// never from eval/test.jsonl: the test sentences beside the intent templates (config/intents/*/*.json) and the dev
/// split (eval/dev.jsonl; a remark the agent does not understand becomes a NONE example). It measures that training
/// runs and learns, not how well a model generalizes. Examples the catalog schema rejects are left out (and counted).
/// </summary>
public static class PlumbingCorpus
{
    public static string ConfigDir => Path.Combine(AppContext.BaseDirectory, "config");

    public static ActionCatalog Catalog => ActionCatalog.Load(Path.Combine(ConfigDir, "actions.json"));

    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static List<CorpusExample> TemplateSentences()
    {
        var examples = new List<CorpusExample>();
        var options = new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };
        foreach (var file in Directory.GetFiles(Path.Combine(ConfigDir, "intents"), "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var root = JsonNode.Parse(File.ReadAllText(file), documentOptions: options)!;
            var lang = root["language"]?.GetValue<string>() ?? Path.GetFileName(Path.GetDirectoryName(file))!;
            foreach (var intent in root["intents"]?.AsArray() ?? [])
            {
                var action = intent!["action"]?.GetValue<string>();
                if (action is null) continue;
                foreach (var test in intent["tests"]?.AsArray() ?? [])
                {
                    var parameters = test!["parameters"] as JsonObject ?? [];
                    examples.Add(new CorpusExample(test["text"]!.GetValue<string>(), lang, action, (JsonObject)parameters.DeepClone(), "command"));
                }
            }
        }
        return examples;
    }

    public static List<CorpusExample> DevSplit()
    {
        var examples = new List<CorpusExample>();
        foreach (var line in File.ReadLines(Path.Combine(AppContext.BaseDirectory, "eval", "dev.jsonl")))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            var o = JsonNode.Parse(line)!;
            var expected = o["expected"]!;
            var action = expected["action"]?.GetValue<string>();
            var parameters = expected["parameters"] as JsonObject ?? [];
            examples.Add(new CorpusExample(o["input"]!.GetValue<string>(), o["lang"]?.GetValue<string>() ?? "zh",
                action ?? CabinPrompt.NoneAction, action is null ? [] : (JsonObject)parameters.DeepClone(), action is null ? "negative" : "command"));
        }
        return examples;
    }

    /// <summary>Writes train.jsonl (templates + 90 % of dev) and valid.jsonl (every 10th dev example) into <paramref name="dir"/>.</summary>
    public static (int Train, int Valid, int Rejected) Write(string dir, ActionCatalog catalog, int maxTrain = int.MaxValue)
    {
        Directory.CreateDirectory(dir);
        var schema = CommandSchema.FromCatalog(catalog);
        var rejected = 0;
        bool Usable(CorpusExample e)
        {
            if (CorpusReader.Problem(e, catalog, schema) is null) return true;
            rejected++;
            return false;
        }
        var dev = DevSplit().Where(Usable).ToList();
        var train = TemplateSentences().Where(Usable).Concat(dev.Where((_, i) => i % 10 != 0)).Take(maxTrain).ToList();
        var valid = dev.Where((_, i) => i % 10 == 0).ToList();
        File.WriteAllLines(Path.Combine(dir, "train.jsonl"), train.Select(ToLine));
        File.WriteAllLines(Path.Combine(dir, "valid.jsonl"), valid.Select(ToLine));
        return (train.Count, valid.Count, rejected);
    }

    public static string ToLine(CorpusExample e) => new JsonObject
    {
        ["text"] = e.Text, ["lang"] = e.Lang, ["action"] = e.Action, ["parameters"] = e.Parameters.DeepClone(), ["kind"] = e.Kind,
    }.ToJsonString(Relaxed);

    public static string TempDir(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "cabin-train-tests", $"{name}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }
}
