using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace CabinAgent.Corpus;

/// <summary>
/// One sentence frame of a phrase bank: literal words, alternations <c>[a|b|]</c> (an empty option makes the words
/// optional) and slots <c>{param}</c> (<c>{param-}</c>: the value is the negative of the number said, for "lower by
/// two"). A frame may fix parameters the words imply (<c>"p": {"level": 100}</c> for "max volume").
/// </summary>
public sealed partial class FrameTemplate
{
    private FrameTemplate(int index, string pattern, JsonObject fixedParameters, IReadOnlyList<string> slots)
    {
        Index = index;
        Pattern = pattern;
        FixedParameters = fixedParameters;
        Slots = slots;
    }

    /// <summary>Position in its bank; part of the train/valid split key.</summary>
    public int Index { get; }
    public string Pattern { get; }
    public JsonObject FixedParameters { get; }

    /// <summary>Slot names in the frame, without the negation mark, each once.</summary>
    public IReadOnlyList<string> Slots { get; }

    public static FrameTemplate Parse(int index, JsonNode? node, string where)
    {
        var (pattern, fixedParameters) = node switch
        {
            JsonValue v when v.TryGetValue<string>(out var s) => (s, new JsonObject()),
            JsonObject o when o["t"] is JsonValue t && t.TryGetValue<string>(out var s) =>
                (s, o["p"] as JsonObject is { } p ? (JsonObject)p.DeepClone() : new JsonObject()),
            _ => throw new CorpusInputException($"{where}: frame {index} must be a string or {{\"t\": string, \"p\": object}}"),
        };
        if (pattern.Count(c => c == '[') != pattern.Count(c => c == ']') || NestedAlternation().IsMatch(pattern))
            throw new CorpusInputException($"{where}: frame '{pattern}' has unbalanced or nested [ ]");
        var slots = Slot().Matches(pattern).Select(m => m.Groups[1].Value).Distinct(StringComparer.Ordinal).ToList();
        return new FrameTemplate(index, pattern, fixedParameters, slots);
    }

    /// <summary>Chooses one option of every alternation and splits the result into literals and slots.</summary>
    public IReadOnlyList<FramePiece> Expand(Random rng)
    {
        var text = Alternation().Replace(Pattern, m =>
        {
            var options = m.Groups[1].Value.Split('|');
            return options[rng.Next(options.Length)];
        });
        var pieces = new List<FramePiece>();
        var at = 0;
        foreach (Match m in Slot().Matches(text))
        {
            if (m.Index > at) pieces.Add(FramePiece.Literal(text[at..m.Index]));
            pieces.Add(FramePiece.Slot(m.Groups[1].Value, m.Groups[2].Value == "-"));
            at = m.Index + m.Length;
        }
        if (at < text.Length) pieces.Add(FramePiece.Literal(text[at..]));
        return pieces;
    }

    [GeneratedRegex(@"\{([a-z_0-9]+)(-?)\}")]
    private static partial Regex Slot();

    [GeneratedRegex(@"\[([^\[\]]*)\]")]
    private static partial Regex Alternation();

    [GeneratedRegex(@"\[[^\]]*\[")]
    private static partial Regex NestedAlternation();
}

/// <summary>A literal run of words, or a slot to fill.</summary>
public readonly record struct FramePiece(string? Text, string? SlotName, bool Negate)
{
    public static FramePiece Literal(string text) => new(text, null, false);
    public static FramePiece Slot(string name, bool negate) => new(null, name, negate);
    public bool IsSlot => SlotName is not null;
}
