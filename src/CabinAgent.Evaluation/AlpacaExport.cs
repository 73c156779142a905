using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using CabinAgent.Actions;

namespace CabinAgent.Evaluation;

/// <summary>One instruction-tuning record: <c>output</c> is the command JSON the LLM tier must produce.</summary>
public sealed record AlpacaRecord(string Id, string Instruction, string Input, string Output);

public sealed record AlpacaSplit(IReadOnlyList<AlpacaRecord> Train, IReadOnlyList<AlpacaRecord> Validation, IReadOnlyList<AlpacaRecord> Test,
    int Skipped);

/// <summary>
/// Fine-tuning data from evaluation cases: the expected action and parameters, the response rendered from the catalog,
/// confirmation from the catalog. Split train/validation/test 80/10/10 with a fixed seed.
/// </summary>
public static class AlpacaExport
{
    public const int DefaultSeed = 20261123;

    /// <summary>The confidence written in training targets: the cases are unambiguous by construction.</summary>
    public const double TargetConfidence = 0.95;

    public static readonly IReadOnlyDictionary<string, string> Instructions = new Dictionary<string, string>
    {
        ["zh"] = "你是车载语音助手。把驾驶员的话转换成一条车辆指令 JSON：action 取自动作目录，parameters 只包含该动作定义的参数，" +
                 "歌名、歌手、目的地、联系人等原样照抄驾驶员的原话。",
        ["en"] = "You are an in-car voice assistant. Turn the driver's words into one vehicle command JSON: the action comes from the " +
                 "action catalog, parameters holds only that action's parameters, and song, artist, destination and contact are copied " +
                 "verbatim from the driver's words.",
    };

    private static readonly JsonSerializerOptions Pretty = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    /// <summary>
    /// A record per case that expects an action. Cases without one (negatives) are skipped: the command format has no
    /// "nothing" command, and the agent answers those from the catalog, not from the model.
    /// </summary>
    public static IReadOnlyList<AlpacaRecord> Records(IEnumerable<EvalCase> cases, ActionCatalog catalog, out int skipped)
    {
        var records = new List<AlpacaRecord>();
        skipped = 0;
        foreach (var c in cases)
        {
            if (c.Expected.Action is null || !catalog.TryGet(c.Expected.Action, out var action))
            {
                skipped++;
                continue;
            }
            var parameters = (JsonObject)(c.Expected.Parameters ?? []).DeepClone();
            var command = new VehicleCommand
            {
                Action = action.Name,
                Parameters = parameters,
                Response = ResponseRenderer.Render(catalog, action, parameters, c.Lang),
                Confidence = TargetConfidence,
                RequiresConfirmation = action.RequiresConfirmation,
            };
            records.Add(new AlpacaRecord(c.Id, Instructions[c.Lang == "en" ? "en" : "zh"], c.Input, command.ToJson()));
        }
        return records;
    }

    /// <summary>Shuffles by <paramref name="seed"/> (records first ordered by id, so input order does not matter) and cuts 80/10/10.</summary>
    public static AlpacaSplit Split(IReadOnlyList<AlpacaRecord> records, int skipped, int seed = DefaultSeed)
    {
        var shuffled = records.OrderBy(r => r.Id, StringComparer.Ordinal).ToArray();
        var random = new Random(seed);
        for (var i = shuffled.Length - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (shuffled[i], shuffled[j]) = (shuffled[j], shuffled[i]);
        }
        var train = (int)Math.Round(shuffled.Length * 0.8);
        var validation = (int)Math.Round(shuffled.Length * 0.1);
        return new AlpacaSplit(shuffled[..train], shuffled[train..(train + validation)], shuffled[(train + validation)..], skipped);
    }

    /// <summary>Writes <c>train.json</c>, <c>validation.json</c>, <c>test.json</c> (Alpaca arrays) and <c>manifest.json</c>.</summary>
    public static void Write(AlpacaSplit split, string outDir, IReadOnlyList<string> sources, int seed)
    {
        Directory.CreateDirectory(outDir);
        WriteArray(Path.Combine(outDir, "train.json"), split.Train);
        WriteArray(Path.Combine(outDir, "validation.json"), split.Validation);
        WriteArray(Path.Combine(outDir, "test.json"), split.Test);
        var manifest = new JsonObject
        {
            ["format"] = "alpaca",
            ["sources"] = new JsonArray(sources.Select(s => (JsonNode)JsonValue.Create(s)!).ToArray()),
            ["seed"] = seed,
            ["train"] = split.Train.Count,
            ["validation"] = split.Validation.Count,
            ["test"] = split.Test.Count,
            ["skipped_without_action"] = split.Skipped,
            ["target_confidence"] = TargetConfidence,
        };
        File.WriteAllText(Path.Combine(outDir, "manifest.json"), manifest.ToJsonString(Pretty) + "\n");
    }

    private static void WriteArray(string path, IReadOnlyList<AlpacaRecord> records)
    {
        var array = new JsonArray(records.Select(r => (JsonNode)new JsonObject
        {
            ["instruction"] = r.Instruction,
            ["input"] = r.Input,
            ["output"] = r.Output,
        }).ToArray());
        File.WriteAllText(path, array.ToJsonString(Pretty) + "\n");
    }

    /// <summary>The test split must stay held out: exporting it for training would make every later score on it meaningless.</summary>
    public static bool IsHeldOut(string path) => EvalDataset.SplitName(path) == "test";
}
