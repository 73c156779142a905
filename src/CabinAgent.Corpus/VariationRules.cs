using System.Text;
using System.Text.Json.Nodes;

namespace CabinAgent.Corpus;

/// <summary>A run of an utterance being built. Slot text is protected from slips: a slip there would change the answer.</summary>
internal sealed class UtterancePart(string text, string? slot = null, bool copied = false)
{
    public string Text { get; set; } = text;

    /// <summary>The parameter this run fills (null for carrier words).</summary>
    public string? Slot { get; } = slot;

    /// <summary>The value is copied from the text into the parameter, so the parameter follows what happens to the text.</summary>
    public bool Copied { get; } = copied;

    public bool Protected => Slot is not null;
}

/// <summary>
/// What drivers and ASR do around a command (data/corpus/variation.json): wake words, fillers, politeness and
/// closers; and ASR slips — homophones from the pinyin table, dropped and doubled characters, no punctuation,
/// lower case. Slips touch only carrier words, never a slot.
/// </summary>
public sealed class VariationRules
{
    private readonly JsonObject _root;
    private readonly Dictionary<char, string> _homophones = [];

    private VariationRules(JsonObject root) => _root = root;

    public double Rate(string name) => _root["rates"]?[name]?.GetValue<double>()
        ?? throw new CorpusInputException($"data/corpus/variation.json: rates.{name} missing");

    public static VariationRules Load(string path, string homophonePath)
    {
        var rules = new VariationRules(CorpusInputs.ReadObject(path));
        var groups = CorpusInputs.ReadObject(homophonePath)["groups"] as JsonObject
            ?? throw new CorpusInputException($"{homophonePath}: 'groups' missing (scripts/data/refresh-gazetteers.sh writes it)");
        foreach (var (_, node) in groups)
        {
            var chars = node!.GetValue<string>();
            foreach (var c in chars) rules._homophones[c] = chars;
        }
        return rules;
    }

    private readonly Dictionary<(string Lang, string Key), List<string>> _lists = [];

    private List<string> List(string lang, string key)
    {
        if (!_lists.TryGetValue((lang, key), out var list))
            _lists[(lang, key)] = list = CorpusInputs.Strings(_root[lang]?[key], $"data/corpus/variation.json {lang}.{key}");
        return list;
    }

    /// <param name="request">False for remarks: "could you the traffic is bad, please" is nobody's sentence.</param>
    internal void Apply(List<UtterancePart> parts, string lang, bool request, Random rng)
    {
        Wrap(parts, lang, request, rng);
        Slip(parts, lang, rng);
        var noPunctuation = rng.NextDouble() < Rate("no_punctuation");
        if (noPunctuation)
        {
            foreach (var part in parts.Where(p => !p.Protected))
                part.Text = new string(part.Text.Where(c => !char.IsPunctuation(c)).ToArray());
        }
        else
        {
            parts.Add(new UtterancePart(Gazetteers.OneOf(List(lang, "punctuation_end"), rng)));
        }
        if (rng.NextDouble() < Rate("lower_case"))
            foreach (var part in parts) part.Text = part.Text.ToLowerInvariant();
    }

    private void Wrap(List<UtterancePart> parts, string lang, bool request, Random rng)
    {
        var separator = Gazetteers.OneOf(List(lang, "separators"), rng);
        var core = string.Concat(parts.Select(p => p.Text));
        var head = new StringBuilder();
        if (rng.NextDouble() < Rate("wake")) head.Append(Gazetteers.OneOf(List(lang, "wake"), rng)).Append(separator);
        if (rng.NextDouble() < Rate("filler")) head.Append(Gazetteers.OneOf(List(lang, "filler"), rng)).Append(separator);
        if (request && rng.NextDouble() < Rate("polite_prefix"))
        {
            // "please please play…" is no variation; a frame that already asks politely keeps its own words.
            var polite = List(lang, "polite_prefix");
            if (!polite.Any(p => core.StartsWith(p, StringComparison.OrdinalIgnoreCase)))
                head.Append(Gazetteers.OneOf(polite, rng)).Append(lang == "en" ? " " : "");
        }
        if (head.Length > 0) parts.Insert(0, new UtterancePart(head.ToString()));
        if (request && rng.NextDouble() < Rate("suffix"))
        {
            var suffix = Gazetteers.OneOf(List(lang, "suffix"), rng);
            if (!core.EndsWith(suffix.Trim(' ', '，'), StringComparison.OrdinalIgnoreCase))
                parts.Add(new UtterancePart(suffix));
        }
    }

    private void Slip(List<UtterancePart> parts, string lang, Random rng)
    {
        var carriers = parts.Where(p => !p.Protected && p.Text.Length > 0).ToList();
        if (carriers.Count == 0) return;
        if (lang == "zh")
        {
            if (rng.NextDouble() < Rate("homophone")) Homophone(carriers, rng);
            if (rng.NextDouble() < Rate("drop_char")) EditChar(carriers, rng, (s, i) => s.Remove(i, 1));
            if (rng.NextDouble() < Rate("double_char")) EditChar(carriers, rng, (s, i) => s.Insert(i, s[i].ToString()));
            return;
        }
        // ASR swallows short unstressed words, not the verb: "play the song" → "play song", never "the song".
        if (rng.NextDouble() < Rate("drop_char")) EditWord(carriers, rng, w => EnglishDroppable.Contains(w), (words, i) => words.RemoveAt(i));
        if (rng.NextDouble() < Rate("double_char")) EditWord(carriers, rng, w => w.Any(char.IsLetter), (words, i) => words.Insert(i, words[i]));
    }

    /// <summary>One Han character of the carrier words heard as another of the same pinyin (播放 → 拨放).</summary>
    private void Homophone(List<UtterancePart> carriers, Random rng)
    {
        var part = Gazetteers.OneOf(carriers, rng);
        var candidates = Enumerable.Range(0, part.Text.Length).Where(i => _homophones.ContainsKey(part.Text[i])).ToList();
        if (candidates.Count == 0) return;
        var at = Gazetteers.OneOf(candidates, rng);
        var group = _homophones[part.Text[at]];
        var other = group[rng.Next(group.Length)];
        if (other == part.Text[at]) other = group[(group.IndexOf(other) + 1) % group.Length];
        part.Text = part.Text[..at] + other + part.Text[(at + 1)..];
    }

    private static void EditChar(List<UtterancePart> carriers, Random rng, Func<string, int, string> edit)
    {
        var part = Gazetteers.OneOf(carriers, rng);
        var hans = Enumerable.Range(0, part.Text.Length).Where(i => part.Text[i] >= '\u4e00' && part.Text[i] <= '\u9fff').ToList();
        if (hans.Count < 2) return;
        part.Text = edit(part.Text, Gazetteers.OneOf(hans, rng));
    }

    private static readonly HashSet<string> EnglishDroppable = new(StringComparer.OrdinalIgnoreCase) { "the", "a", "an", "to", "my", "some", "it", "please", "me" };

    private static void EditWord(List<UtterancePart> carriers, Random rng, Func<string, bool> eligible, Action<List<string>, int> edit)
    {
        var part = Gazetteers.OneOf(carriers, rng);
        var words = part.Text.Split(' ').ToList();
        var real = Enumerable.Range(0, words.Count).Where(i => eligible(words[i])).ToList();
        if (real.Count == 0 || words.Count(w => w.Any(char.IsLetter)) < 2) return;
        edit(words, Gazetteers.OneOf(real, rng));
        part.Text = string.Join(' ', words);
    }
}
