using System.Text.Json.Nodes;
using CabinAgent.Actions;

namespace CabinAgent.Corpus;

/// <summary>
/// How drivers ask for one catalog action, per language (data/corpus/banks/ACTION.json). The catalog says which
/// actions and parameters exist; a bank only says how they are worded, so the code stays generic.
/// </summary>
public sealed class PhraseBank
{
    private PhraseBank(string action, IReadOnlyDictionary<string, IReadOnlyList<FrameTemplate>> frames)
    {
        Action = action;
        Frames = frames;
    }

    public string Action { get; }
    public IReadOnlyDictionary<string, IReadOnlyList<FrameTemplate>> Frames { get; }

    /// <summary>Loads one bank per catalog action and checks every slot against the catalog.</summary>
    public static IReadOnlyDictionary<string, PhraseBank> LoadAll(string dir, ActionCatalog catalog, CorpusRecipe recipe, SlotSurfaces surfaces)
    {
        if (!Directory.Exists(dir))
            throw new CorpusInputException($"{dir} not found: the phrase banks (one ACTION.json per catalog action) live there");
        var banks = new Dictionary<string, PhraseBank>(StringComparer.Ordinal);
        foreach (var action in catalog.Actions)
        {
            var path = Path.Combine(dir, action.Name + ".json");
            if (!File.Exists(path))
                throw new CorpusInputException($"catalog action {action.Name} has no phrase bank: write {path} with \"zh\" and \"en\" frames");
            var o = CorpusInputs.ReadObject(path);
            var frames = new Dictionary<string, IReadOnlyList<FrameTemplate>>(StringComparer.Ordinal);
            foreach (var lang in recipe.Languages)
            {
                if (o[lang] is not JsonArray list || list.Count == 0)
                    throw new CorpusInputException($"{path}: no \"{lang}\" frames");
                var parsed = list.Select((node, i) => FrameTemplate.Parse(i, node, path)).ToList();
                foreach (var frame in parsed)
                    Check(frame, action, recipe, surfaces, lang, path);
                frames[lang] = parsed;
            }
            banks[action.Name] = new PhraseBank(action.Name, frames);
        }
        var extra = Directory.EnumerateFiles(dir, "*.json").Select(Path.GetFileNameWithoutExtension)
            .Where(name => !catalog.TryGet(name!, out _)).ToList();
        if (extra.Count > 0)
            throw new CorpusInputException($"{dir}: banks for actions the catalog does not have: {string.Join(", ", extra)}");
        return banks;
    }

    private static void Check(FrameTemplate frame, ActionDefinition action, CorpusRecipe recipe, SlotSurfaces surfaces, string lang, string path)
    {
        foreach (var slot in frame.Slots)
        {
            var p = action.FindParameter(slot)
                ?? throw new CorpusInputException($"{path}: frame '{frame.Pattern}' has slot {{{slot}}}, which {action.Name} has no parameter for");
            if (p.Span && !recipe.SpanSources.ContainsKey(slot))
                throw new CorpusInputException($"{path}: copied parameter '{slot}' has no gazetteer in recipe.json span_sources");
            if (p.Enum is not null)
                foreach (var value in p.Enum)
                    if (surfaces.Forms(slot, lang, value).Count == 0)
                        throw new CorpusInputException($"data/corpus/slots.json: no {lang} wording for {slot}={value} ({action.Name})");
        }
        foreach (var (name, _) in frame.FixedParameters)
            if (action.FindParameter(name) is null)
                throw new CorpusInputException($"{path}: frame '{frame.Pattern}' fixes '{name}', which {action.Name} has no parameter for");
    }
}

/// <summary>data/corpus/slots.json: how drivers word each enum value, per parameter and language.</summary>
public sealed class SlotSurfaces
{
    private readonly JsonObject _root;
    private SlotSurfaces(JsonObject root) => _root = root;

    public static SlotSurfaces Load(string path) => new(CorpusInputs.ReadObject(path));

    public IReadOnlyList<string> Forms(string parameter, string lang, string value) =>
        _root[parameter]?[lang]?[value] is JsonArray list ? CorpusInputs.Strings(list, $"slots.json {parameter}.{lang}.{value}") : [];
}

/// <summary>data/corpus/negatives.json: remarks that are no command and emergency near-misses, per language.</summary>
public sealed class RemarkBank
{
    private readonly Dictionary<(string Kind, string Lang), IReadOnlyList<FrameTemplate>> _frames = [];

    public IReadOnlyList<FrameTemplate> Frames(string kind, string lang) =>
        _frames.TryGetValue((kind, lang), out var frames) ? frames : [];

    public static RemarkBank Load(string path)
    {
        var o = CorpusInputs.ReadObject(path);
        var bank = new RemarkBank();
        foreach (var (kind, key) in new[] { (CorpusKinds.Negative, "negative"), (CorpusKinds.NearMiss, "near_miss") })
        {
            if (o[key] is not JsonObject byLang)
                throw new CorpusInputException($"{path}: '{key}' missing");
            foreach (var (lang, node) in byLang)
                bank._frames[(kind, lang)] = (node as JsonArray ?? throw new CorpusInputException($"{path}: {key}.{lang} must be a list"))
                    .Select((n, i) => FrameTemplate.Parse(i, n, path)).ToList();
        }
        return bank;
    }
}
