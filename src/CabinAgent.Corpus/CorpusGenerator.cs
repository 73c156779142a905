using System.Text.Json.Nodes;
using CabinAgent.Actions;

namespace CabinAgent.Corpus;

/// <summary>A generated example the generator's own checks refused: a bug in the generator or its data, never skipped silently.</summary>
public sealed class CorpusGenerationException(string message) : Exception(message);

/// <summary>The generated corpus: the two splits and the manifest that describes them.</summary>
public sealed record CorpusBuild(IReadOnlyList<CorpusExample> Train, IReadOnlyList<CorpusExample> Valid, JsonObject Manifest);

/// <summary>
/// Generates utterance → command pairs from the catalog, the phrase banks, the gazetteers and the variation rules.
/// Deterministic: each stream (kind × action × language) draws from its own seeded generator, so the same seed and
/// inputs give the same examples in the same order. Every command is validated against the catalog's JSON Schema
/// and every copied value is checked to occur in its text while generating; a failure throws (a generator bug).
/// </summary>
public sealed class CorpusGenerator(CorpusInputs inputs)
{
    /// <summary>Tries per wanted example before a stream gives up (its bank cannot make more distinct sentences).</summary>
    private const int AttemptsPerExample = 40;

    private sealed record Stream(string Kind, string Action, string Lang, int Target);

    private sealed record Candidate(CorpusExample Example, string SplitKey);

    public CorpusBuild Generate(int size, int seed)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "the corpus size must be at least 1");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var heldOutHits = new HashSet<string>(StringComparer.Ordinal);
        var train = new List<CorpusExample>();
        var valid = new List<CorpusExample>();
        var shortfalls = new JsonObject();
        var validCut = (ulong)Math.Round(inputs.Recipe.ValidShare * 10000);

        foreach (var stream in Streams(size))
        {
            var rng = new Random(StableHash.Seed(seed, $"{stream.Kind}/{stream.Action}/{stream.Lang}"));
            var made = 0;
            for (var attempt = 0; attempt < stream.Target * AttemptsPerExample && made < stream.Target; attempt++)
            {
                var candidate = Make(stream, rng);
                var key = TextKey.Normalize(candidate.Example.Text);
                if (key.Length == 0) continue;
                if (inputs.HeldOutKeys.Contains(key))
                {
                    heldOutHits.Add(key);
                    continue;
                }
                if (!seen.Add(key)) continue;
                (StableHash.Of(candidate.SplitKey) % 10000 < validCut ? valid : train).Add(candidate.Example);
                made++;
            }
            if (made < stream.Target)
                shortfalls[$"{stream.Action}/{stream.Lang}/{stream.Kind}"] = $"{made} of {stream.Target}";
        }

        Shuffle(train, new Random(seed));
        Shuffle(valid, new Random(seed + 1));
        var manifest = CorpusManifest.Build(inputs, size, seed, train, valid, heldOutHits.Count, shortfalls);
        return new CorpusBuild(train, valid, manifest);
    }

    /// <summary>How many examples each stream should make: the recipe's kind shares, split evenly by language, commands by action weight.</summary>
    private List<Stream> Streams(int size)
    {
        var recipe = inputs.Recipe;
        var langs = recipe.Languages;
        var streams = new List<Stream>();
        void Add(string kind, IReadOnlyList<ActionDefinition> actions)
        {
            var total = size * recipe.KindShares[kind] / langs.Count;
            var weights = actions.Sum(a => recipe.Weight(a.Name));
            foreach (var action in actions)
                foreach (var lang in langs)
                    streams.Add(new Stream(kind, action.Name, lang, Math.Max(1, (int)Math.Round(total * recipe.Weight(action.Name) / weights))));
        }
        Add(CorpusKinds.Command, inputs.Catalog.Actions.Where(a => a.Category != ActionCategories.Safety).ToList());
        Add(CorpusKinds.Emergency, inputs.Catalog.Actions.Where(a => a.Category == ActionCategories.Safety).ToList());
        foreach (var kind in (string[])[CorpusKinds.Negative, CorpusKinds.NearMiss])
            foreach (var lang in langs)
                streams.Add(new Stream(kind, CorpusKinds.NoAction, lang, Math.Max(1, (int)Math.Round(size * recipe.KindShares[kind] / langs.Count))));
        return streams;
    }

    private Candidate Make(Stream stream, Random rng)
    {
        var isRemark = stream.Action == CorpusKinds.NoAction;
        var frames = isRemark ? inputs.Remarks.Frames(stream.Kind, stream.Lang) : inputs.Banks[stream.Action].Frames[stream.Lang];
        if (frames.Count == 0)
            throw new CorpusInputException($"data/corpus/negatives.json: no {stream.Kind} frames for '{stream.Lang}'");
        var frame = Gazetteers.OneOf(frames, rng);
        var action = isRemark ? null : inputs.Catalog.Get(stream.Action);
        var parameters = (JsonObject)frame.FixedParameters.DeepClone();
        var parts = Fill(frame, action, stream.Lang, parameters, rng);
        // The split key is the sentence before wrapping and slips: its carrier words as chosen from the frame and its
        // slot values. Every variant of one sentence lands on the same side, so valid measures sentences never trained on.
        var splitKey = $"{stream.Lang}/{stream.Action}/{stream.Kind}/{frame.Index}/" + string.Join("|", parts.Select(p => p.Text));

        inputs.Variation.Apply(parts, stream.Lang, request: !isRemark, rng);
        var text = string.Concat(parts.Select(p => p.Text)).Trim();
        while (text.Contains("  ", StringComparison.Ordinal)) text = text.Replace("  ", " ", StringComparison.Ordinal);
        if (isRemark)
            return new Candidate(new CorpusExample(text, stream.Lang, CorpusKinds.NoAction, [], stream.Kind), splitKey);

        foreach (var part in parts.Where(p => p.Copied))
            parameters[part.Slot!] = part.Text.Trim();
        Check(stream, frame, text, parameters, action!);
        return new Candidate(new CorpusExample(text, stream.Lang, stream.Action, parameters, stream.Kind), splitKey);
    }

    /// <summary>The frame's words with every slot filled; the parameters get the values the filled words mean.</summary>
    private List<UtterancePart> Fill(FrameTemplate frame, ActionDefinition? action, string lang, JsonObject parameters, Random rng)
    {
        var pieces = frame.Expand(rng).ToList();
        // A driver who says a name in the other language (放一下Taylor Swift的Love Story, play 周杰伦) keeps the sentence's language.
        var nameLang = rng.NextDouble() < inputs.Variation.Rate("mixed_language_slot") ? Other(lang) : lang;
        var filled = new Dictionary<string, string>(StringComparer.Ordinal);
        if (frame.Slots.Contains("artist") && frame.Slots.Contains("song") && Source("artist") == "artist" && Source("song") == "song")
            (filled["artist"], filled["song"]) = inputs.Gazetteers.PickSong(nameLang, rng);

        var parts = new List<UtterancePart>();
        for (var i = 0; i < pieces.Count; i++)
        {
            var piece = pieces[i];
            if (!piece.IsSlot)
            {
                parts.Add(new UtterancePart(piece.Text!));
                continue;
            }
            var name = piece.SlotName!;
            var p = action?.FindParameter(name);
            if (p is null || p.Span)
            {
                if (!filled.TryGetValue(name, out var value))
                    filled[name] = value = inputs.Gazetteers.Pick(Source(name), nameLang, rng);
                parts.Add(new UtterancePart(value, name, copied: p is not null));
            }
            else if (p.Enum is not null)
            {
                if (!filled.TryGetValue(name, out var surface))
                {
                    var value = Gazetteers.OneOf(p.Enum, rng);
                    parameters[name] = value;
                    filled[name] = surface = Gazetteers.OneOf(inputs.Surfaces.Forms(name, lang, value), rng);
                }
                parts.Add(new UtterancePart(surface, name));
            }
            else
            {
                var magnitude = PickNumber(p, piece.Negate, rng);
                parameters[name] = p.Type == ParameterType.Integer
                    ? JsonValue.Create((int)(piece.Negate ? -magnitude : magnitude))
                    : JsonValue.Create(piece.Negate ? -magnitude : magnitude);
                var following = i + 1 < pieces.Count && !pieces[i + 1].IsSlot ? pieces[i + 1].Text! : "";
                var spoken = SpokenNumbers.Render(magnitude, lang, rng, following, out var consumedDegree);
                if (consumedDegree) pieces[i + 1] = FramePiece.Literal(pieces[i + 1].Text![1..]);
                parts.Add(new UtterancePart(spoken, name));
            }
        }
        return parts;
    }

    private string Source(string slot) => inputs.Recipe.SpanSources.TryGetValue(slot, out var source)
        ? source
        : throw new CorpusInputException($"slot {{{slot}}} has no gazetteer in data/corpus/recipe.json span_sources");

    private string Other(string lang) => inputs.Recipe.Languages.FirstOrDefault(l => l != lang) ?? lang;

    /// <summary>
    /// A value in the catalog range, as drivers pick them: round numbers and small steps more often than odd ones;
    /// halves for non-integer parameters (22.5 度). For a negated slot, the magnitude within the range's negative side.
    /// </summary>
    private static double PickNumber(ParameterDefinition p, bool negate, Random rng)
    {
        var min = p.Minimum ?? 0;
        var max = p.Maximum ?? 100;
        if (negate) (min, max) = (Math.Max(1, -max), -min);
        else if (min < 0) min = 1; // "raise by" says a positive amount; the sign is in the verb
        var lo = (int)Math.Ceiling(min);
        var hi = (int)Math.Floor(max);
        if (hi < lo) throw new CorpusGenerationException($"parameter {p.Name}: no whole number in [{min}, {max}] to say");
        var roll = rng.NextDouble();
        int whole;
        var tens = Enumerable.Range(lo, hi - lo + 1).Where(n => n % 10 == 0 || n % 5 == 0 && hi > 20).ToList();
        if (roll < 0.35 && tens.Count > 0) whole = Gazetteers.OneOf(tens, rng);
        else if (roll < 0.6 && lo <= 10) whole = rng.Next(lo, Math.Min(10, hi) + 1);
        else whole = rng.Next(lo, hi + 1);
        var half = p.Type == ParameterType.Number && whole < hi && rng.NextDouble() < 0.2;
        return half ? whole + 0.5 : whole;
    }

    /// <summary>The generator's own guarantees: schema-valid, copied values verbatim in the text.</summary>
    private void Check(Stream stream, FrameTemplate frame, string text, JsonObject parameters, ActionDefinition action)
    {
        var command = new JsonObject
        {
            ["action"] = action.Name,
            ["parameters"] = parameters.DeepClone(),
            ["response"] = "",
            ["confidence"] = 1.0,
            ["requires_confirmation"] = false,
        };
        var errors = inputs.Schema.Validate(command.ToJsonString());
        if (errors.Count > 0)
            throw new CorpusGenerationException(
                $"{stream.Action}/{stream.Lang} frame '{frame.Pattern}' made an invalid command for \"{text}\" {parameters.ToJsonString()}: {string.Join("; ", errors)}");
        foreach (var p in action.Parameters.Where(p => p.Span))
            if (parameters[p.Name] is JsonValue v && !text.Contains(v.GetValue<string>(), StringComparison.Ordinal))
                throw new CorpusGenerationException($"{stream.Action}/{stream.Lang}: copied {p.Name}='{v}' is not in \"{text}\"");
    }

    private static void Shuffle<T>(List<T> list, Random rng)
    {
        for (var i = list.Count - 1; i > 0; i--)
        {
            var j = rng.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }
}
