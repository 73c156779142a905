using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CabinAgent.Actions;

namespace CabinAgent.Corpus;

/// <summary>A corpus input that is wrong (a missing bank, a slot the catalog does not know): names the file and the fix.</summary>
public sealed class CorpusInputException(string message) : Exception(message);

/// <summary>
/// Everything the generator reads — the catalog, the recipe, the phrase banks, slot surfaces, variation, negatives,
/// gazetteers and the held-out splits — loaded and checked against each other once, before anything is generated,
/// so a broken input fails at start with its file name instead of as a half-written corpus.
/// </summary>
public sealed class CorpusInputs
{
    /// <summary>Bumped when the generator's code changes what it writes for the same data (it is part of the recipe hash).</summary>
    public const string GeneratorVersion = "corpus-1";

    public required ActionCatalog Catalog { get; init; }
    public required CommandSchema Schema { get; init; }
    public required CorpusRecipe Recipe { get; init; }
    public required IReadOnlyDictionary<string, PhraseBank> Banks { get; init; }
    public required SlotSurfaces Surfaces { get; init; }
    public required VariationRules Variation { get; init; }
    public required RemarkBank Remarks { get; init; }
    public required Gazetteers Gazetteers { get; init; }
    public required IReadOnlySet<string> HeldOutKeys { get; init; }
    public required IReadOnlyList<string> HeldOutFiles { get; init; }
    public required string RecipeHash { get; init; }

    /// <summary>data/gazetteers/sources.json: where each gazetteer comes from and under which licence (copied into the manifest).</summary>
    public required JsonObject GazetteerSources { get; init; }

    /// <param name="repoRoot">The checkout: <c>data/corpus</c>, <c>data/gazetteers</c> and the held-out splits are found below it.</param>
    /// <param name="catalogPath">The action catalog (config/actions.json).</param>
    public static CorpusInputs Load(string repoRoot, string catalogPath)
    {
        var corpusDir = Path.Combine(repoRoot, "data", "corpus");
        var gazetteerDir = Path.Combine(repoRoot, "data", "gazetteers");
        if (!File.Exists(Path.Combine(corpusDir, "recipe.json")))
            throw new CorpusInputException($"{Path.Combine(corpusDir, "recipe.json")} not found: run from a checkout of the repository (or pass --data)");

        var catalog = ActionCatalog.Load(catalogPath);
        var recipe = CorpusRecipe.Load(Path.Combine(corpusDir, "recipe.json"));
        var surfaces = SlotSurfaces.Load(Path.Combine(corpusDir, "slots.json"));
        var banks = PhraseBank.LoadAll(Path.Combine(corpusDir, "banks"), catalog, recipe, surfaces);
        var heldOut = recipe.HeldOut.Select(p => Path.Combine(repoRoot, p)).ToList();
        return new CorpusInputs
        {
            Catalog = catalog,
            Schema = CommandSchema.FromCatalog(catalog),
            Recipe = recipe,
            Banks = banks,
            Surfaces = surfaces,
            Variation = VariationRules.Load(Path.Combine(corpusDir, "variation.json"), Path.Combine(gazetteerDir, "pinyin-homophones.json")),
            Remarks = RemarkBank.Load(Path.Combine(corpusDir, "negatives.json")),
            Gazetteers = Gazetteers.Load(gazetteerDir),
            HeldOutKeys = LoadHeldOut(heldOut),
            HeldOutFiles = recipe.HeldOut,
            GazetteerSources = ReadObject(Path.Combine(gazetteerDir, "sources.json")),
            RecipeHash = Hash(repoRoot, [catalogPath, .. Files(corpusDir), .. Files(gazetteerDir), .. heldOut]),
        };
    }

    /// <summary>The normalized inputs of the held-out splits: the corpus may not contain any of them.</summary>
    private static HashSet<string> LoadHeldOut(IEnumerable<string> files)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            if (!File.Exists(file))
                throw new CorpusInputException($"held-out split {file} not found; the corpus cannot be checked against it (recipe.json held_out)");
            var number = 0;
            foreach (var line in File.ReadLines(file))
            {
                number++;
                if (line.Trim().Length == 0) continue;
                string? input;
                try
                {
                    input = JsonNode.Parse(line)?["input"]?.GetValue<string>();
                }
                catch (Exception ex) when (ex is JsonException or InvalidOperationException)
                {
                    throw new CorpusInputException($"{file}:{number}: not a case line ({ex.Message})");
                }
                keys.Add(TextKey.Normalize(input ?? throw new CorpusInputException($"{file}:{number}: a line without \"input\"")));
            }
        }
        return keys;
    }

    private static IEnumerable<string> Files(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal);

    /// <summary>sha256 over the generator version and every input file (path relative to the checkout, then its bytes).</summary>
    private static string Hash(string repoRoot, IEnumerable<string> files)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes(GeneratorVersion + "\n"));
        foreach (var file in files.Select(Path.GetFullPath).Distinct().Order(StringComparer.Ordinal))
        {
            // Files outside the checkout (a catalog passed by path) count by name, so the hash does not depend on where they sit.
            var relative = Path.GetRelativePath(repoRoot, file).Replace('\\', '/');
            if (relative.StartsWith("../", StringComparison.Ordinal) || Path.IsPathRooted(relative)) relative = "external/" + Path.GetFileName(file);
            sha.AppendData(Encoding.UTF8.GetBytes(relative + "\0"));
            sha.AppendData(File.ReadAllBytes(file));
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    internal static JsonObject ReadObject(string path)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                ?? throw new CorpusInputException($"{path}: not a JSON object");
        }
        catch (JsonException ex)
        {
            throw new CorpusInputException($"{path}: not valid JSON ({ex.Message})");
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CorpusInputException($"{path} not found");
        }
    }

    internal static List<string> Strings(JsonNode? node, string where) =>
        node is JsonArray array
            ? array.Select(n => n?.GetValue<string>() ?? throw new CorpusInputException($"{where}: null in a list")).ToList()
            : throw new CorpusInputException($"{where}: a list of strings is missing");
}

/// <summary>data/corpus/recipe.json: the shares and weights of the build, the span sources, the held-out splits.</summary>
public sealed class CorpusRecipe
{
    public required int DefaultSize { get; init; }
    public required int DefaultSeed { get; init; }
    public required double ValidShare { get; init; }
    public required IReadOnlyList<string> Languages { get; init; }
    public required IReadOnlyDictionary<string, double> KindShares { get; init; }
    public required IReadOnlyDictionary<string, double> ActionWeights { get; init; }
    public required IReadOnlyDictionary<string, string> SpanSources { get; init; }
    public required IReadOnlyList<string> HeldOut { get; init; }

    public double Weight(string action) => ActionWeights.TryGetValue(action, out var w) ? w : 1.0;

    public static CorpusRecipe Load(string path)
    {
        var o = CorpusInputs.ReadObject(path);
        Dictionary<string, T> Map<T>(string key) =>
            (o[key] as JsonObject ?? throw new CorpusInputException($"{path}: '{key}' missing"))
            .ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<T>(), StringComparer.Ordinal);
        var kinds = Map<double>("kinds");
        foreach (var kind in CorpusKinds.All)
            if (!kinds.ContainsKey(kind))
                throw new CorpusInputException($"{path}: kinds has no share for '{kind}'");
        var validShare = o["valid_share"]?.GetValue<double>() ?? 0.05;
        if (validShare is < 0 or >= 1)
            throw new CorpusInputException($"{path}: valid_share must be in [0, 1)");
        return new CorpusRecipe
        {
            DefaultSize = o["default_size"]?.GetValue<int>() ?? 60000,
            DefaultSeed = o["default_seed"]?.GetValue<int>() ?? 42,
            ValidShare = validShare,
            Languages = CorpusInputs.Strings(o["languages"], $"{path}: languages"),
            KindShares = kinds,
            ActionWeights = Map<double>("action_weights"),
            SpanSources = Map<string>("span_sources"),
            HeldOut = CorpusInputs.Strings(o["held_out"], $"{path}: held_out"),
        };
    }
}
