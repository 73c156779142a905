using System.Globalization;
using System.Text;
using CabinAgent.Actions;
using CabinAgent.Llm.Prompting;
using CabinAgent.Training.Corpus;

namespace CabinAgent.Training.Tokenizer;

/// <summary>llama.cpp's <c>llama_token_type</c> values as GGUF stores them.</summary>
public enum TokenType { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Byte = 6 }

/// <summary>
/// The cabin model's SPM vocabulary (llama.cpp's "llama" tokenizer), built from the catalog and the corpus so an
/// integrator's new action gets its token: control tokens, the 256 byte-fallback tokens, every character the corpus
/// and catalog use (so each Chinese character is one token), frequent English words (with and without the SPM space
/// mark ▁), and the answer's JSON runs as single tokens: <c>{"action":"</c>, each action name,
/// <c>","parameters":</c>, <c>{"key":"</c> / <c>","key":"</c> / <c>,"key":</c> per parameter key, enum values,
/// <c>"}}</c>, <c>}}</c>, <c>{}}</c>.
/// <para>
/// llama.cpp's SPM tokenizer merges adjacent symbols, highest score first and leftmost on a tie, and only into
/// pieces that are themselves tokens. So every prefix of a multi-character piece is a token too (a piece grows from
/// its first character), and catalog runs never start with a quote followed by a letter (the first key carries its
/// brace, <c>{"artist":"</c>): otherwise the closing quote of a key could merge with the first letter of the value.
/// Scores are the piece's length, catalog runs above words, so the longest run wins where two compete.
/// </para>
/// </summary>
public sealed class CabinVocabulary
{
    public const string Unknown = "<unk>", Bos = "<s>", Eos = "</s>";
    public const char SpaceMark = '\u2581';

    private CabinVocabulary(List<string> tokens, List<float> scores, List<TokenType> types)
    {
        Tokens = tokens;
        Scores = scores;
        Types = types;
    }

    public IReadOnlyList<string> Tokens { get; }
    public IReadOnlyList<float> Scores { get; }
    public IReadOnlyList<TokenType> Types { get; }

    public const int UnknownId = 0, BosId = 1, EosId = 2;

    /// <summary>The JSON runs of the catalog's answers (without prefixes), longest-first order irrelevant.</summary>
    public static IReadOnlyList<string> CatalogPieces(ActionCatalog catalog)
    {
        var pieces = new List<string> { "{\"action\":\"", "\",\"parameters\":", "{}}", "\"}}", "}}", CabinPrompt.NoneAction, "true", "false" };
        foreach (var action in catalog.Actions)
        {
            pieces.Add(action.Name);
            foreach (var p in action.Parameters)
            {
                var opensString = p.Type == ParameterType.String;
                var key = "\"" + p.Name + "\":" + (opensString ? "\"" : "");
                pieces.Add("{" + key);
                pieces.Add("\"," + key);
                pieces.Add("," + key);
                foreach (var value in p.Enum ?? []) pieces.Add(value);
            }
        }
        return pieces.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <param name="maxWords">How many of the corpus's most frequent English words become tokens.</param>
    public static CabinVocabulary Build(ActionCatalog catalog, IEnumerable<CorpusExample> corpus, int maxWords = 1500)
    {
        var tokens = new List<string>();
        var scores = new List<float>();
        var types = new List<TokenType>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Add(string text, float score, TokenType type)
        {
            if (!seen.Add(text)) return;
            tokens.Add(text);
            scores.Add(score);
            types.Add(type);
        }

        Add(Unknown, 0, TokenType.Unknown);
        Add(Bos, 0, TokenType.Control);
        Add(Eos, 0, TokenType.Control);
        foreach (var lang in CabinPrompt.LanguageTokens) Add(lang, 0, TokenType.Control);
        for (var b = 0; b < 256; b++) Add($"<0x{b:X2}>", 0, TokenType.Byte);

        // Characters: printable ASCII, the space mark, and every character of the corpus and the catalog's runs.
        var catalogPieces = CatalogPieces(catalog);
        var chars = new SortedSet<string>(StringComparer.Ordinal) { SpaceMark.ToString() };
        for (var c = 0x21; c < 0x7F; c++) chars.Add(((char)c).ToString());
        var words = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var example in corpus)
        {
            foreach (var ch in Characters(example.Text)) chars.Add(ch);
            foreach (var word in EnglishWords(example.Text))
                words[word] = words.GetValueOrDefault(word) + 1;
        }
        foreach (var piece in catalogPieces)
            foreach (var ch in Characters(piece)) chars.Add(ch);
        foreach (var ch in chars) Add(ch, 0, TokenType.Normal);

        // Catalog runs first (higher scores), then words; every prefix of a run is a token so the SPM merges reach it.
        foreach (var piece in catalogPieces)
            AddWithPrefixes(piece, 1000, Add);
        var frequent = words.Where(w => w.Value >= 2 && w.Key.Length > 1)
            .OrderByDescending(w => w.Value).ThenBy(w => w.Key, StringComparer.Ordinal).Take(maxWords).Select(w => w.Key);
        foreach (var word in frequent)
        {
            AddWithPrefixes(word, 0, Add);
            AddWithPrefixes(SpaceMark + word, 0, Add);
        }
        return new CabinVocabulary(tokens, scores, types);
    }

    private static void AddWithPrefixes(string piece, float bonus, Action<string, float, TokenType> add)
    {
        var elements = Characters(piece).ToArray();
        var sb = new StringBuilder();
        for (var i = 0; i < elements.Length; i++)
        {
            sb.Append(elements[i]);
            if (i > 0) add(sb.ToString(), bonus + i + 1, TokenType.Normal);
        }
    }

    /// <summary>Text elements as SPM sees them: one Unicode code point each.</summary>
    private static IEnumerable<string> Characters(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length)
            {
                yield return text.Substring(i, 2);
                i++;
            }
            else if (!char.IsWhiteSpace(text[i]) && !char.IsControl(text[i]))
                yield return text[i].ToString(CultureInfo.InvariantCulture);
        }
    }

    private static IEnumerable<string> EnglishWords(string text)
    {
        var sb = new StringBuilder();
        foreach (var c in text + " ")
        {
            if (c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '\'') sb.Append(c);
            else
            {
                if (sb.Length > 0) yield return sb.ToString();
                sb.Clear();
            }
        }
    }
}
