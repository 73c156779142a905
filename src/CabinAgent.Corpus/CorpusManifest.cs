using System.Text.Json.Nodes;

namespace CabinAgent.Corpus;

/// <summary>
/// manifest.json: what a corpus is made of and from — seed, size, recipe hash, counts per action × language × kind,
/// gazetteer sources and licences. No clock time in it, so the same seed and inputs give the same bytes.
/// </summary>
public static class CorpusManifest
{
    internal static JsonObject Build(CorpusInputs inputs, int size, int seed, IReadOnlyList<CorpusExample> train,
        IReadOnlyList<CorpusExample> valid, int heldOutCollisions, JsonObject shortfalls) => new()
    {
        ["generator_version"] = CorpusInputs.GeneratorVersion,
        ["recipe_hash"] = inputs.RecipeHash,
        ["seed"] = seed,
        ["size"] = size,
        ["examples"] = new JsonObject { ["train"] = train.Count, ["valid"] = valid.Count, ["total"] = train.Count + valid.Count },
        ["counts"] = Counts(train.Concat(valid)),
        ["counts_valid"] = Counts(valid),
        ["held_out"] = new JsonObject
        {
            ["files"] = new JsonArray(inputs.HeldOutFiles.Select(f => (JsonNode)JsonValue.Create(f)!).ToArray()),
            // Distinct generated sentences equal (normalized) to a held-out input, dropped instead of written.
            ["collisions_dropped"] = heldOutCollisions,
        },
        ["shortfalls"] = shortfalls,
        ["gazetteers"] = inputs.GazetteerSources.DeepClone(),
    };

    /// <summary>action → lang → kind → count, every level sorted, so the manifest is byte-stable.</summary>
    private static JsonObject Counts(IEnumerable<CorpusExample> examples)
    {
        var counts = new JsonObject();
        var grouped = examples.GroupBy(e => (e.Action, e.Lang, e.Kind)).Select(g => (g.Key, Count: g.Count()));
        foreach (var byAction in grouped.GroupBy(g => g.Key.Action).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var langs = new JsonObject();
            foreach (var byLang in byAction.GroupBy(g => g.Key.Lang).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                var kinds = new JsonObject();
                foreach (var (key, count) in byLang.OrderBy(g => g.Key.Kind, StringComparer.Ordinal))
                    kinds[key.Kind] = count;
                langs[byLang.Key] = kinds;
            }
            counts[byAction.Key] = langs;
        }
        return counts;
    }
}
