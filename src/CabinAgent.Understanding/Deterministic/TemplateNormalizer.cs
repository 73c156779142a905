using CabinAgent.Actions;

namespace CabinAgent.Understanding.Deterministic;

/// <summary>
/// An utterance in the canonical form the templates are matched against, with a map back to the
/// original text so span slots (artist, destination, contact) are copied verbatim from what the
/// driver said, not from the normalized form.
/// </summary>
public sealed class NormalizedText
{
    internal NormalizedText(string original, string text, int[] originalIndex)
    {
        Original = original;
        Text = text;
        _originalIndex = originalIndex;
    }

    private readonly int[] _originalIndex;

    /// <summary>The utterance as received.</summary>
    public string Original { get; }

    /// <summary>Lower-case, half-width, punctuation removed, fillers removed, spaces only between Latin words.</summary>
    public string Text { get; }

    /// <summary>
    /// The original characters behind <c>Text[start..start+length]</c>, trimmed of whitespace. The result is
    /// always a substring of <see cref="Original"/>.
    /// </summary>
    public string OriginalSpan(int start, int length)
    {
        if (length <= 0) return "";
        var from = _originalIndex[start];
        var to = _originalIndex[start + length - 1] + 1;
        return Original[from..to].Trim();
    }
}

/// <summary>
/// Puts utterances (and template literals) into one canonical form:
/// full-width ASCII folded to half-width, lower case, punctuation dropped (keeping the decimal point in
/// <c>23.5</c>, <c>%</c>, <c>&amp;</c>, in-word hyphens and apostrophes), runs of spaces collapsed, and spaces
/// removed next to Chinese characters — so <c>播放 Taylor Swift 的 Love Story</c> becomes
/// <c>播放taylor swift的love story</c> and Chinese templates never have to think about spaces.
/// Skip words (disfluencies such as 嗯, uh) are removed; they never carry meaning in a command.
/// Not the safety layer's <c>PhraseNormalizer</c>, on purpose: templates read values out of the text, so this one keeps
/// what a value is made of (<c>23.5</c>, <c>50%</c>, <c>R&amp;B</c>, <c>don't</c>, digits apart as spoken) and maps
/// every character back to the original for span slots.
/// </summary>
public sealed class TemplateNormalizer
{
    private readonly string[] _cjkSkipWords;
    private readonly HashSet<string> _latinSkipWords;

    public TemplateNormalizer(IEnumerable<string> skipWords)
    {
        var cjk = new List<string>();
        _latinSkipWords = new HashSet<string>(StringComparer.Ordinal);
        foreach (var word in skipWords)
        {
            var w = word.Trim().ToLowerInvariant();
            if (w.Length == 0) continue;
            if (LanguageDetector.IsCjk(w[0])) cjk.Add(w);
            else _latinSkipWords.Add(w);
        }
        // Longest first so that a longer skip word wins over its prefix.
        cjk.Sort((a, b) => b.Length.CompareTo(a.Length));
        _cjkSkipWords = cjk.ToArray();
    }

    public static bool IsAsciiAlnum(char c) => c is >= 'a' and <= 'z' or >= '0' and <= '9';

    public NormalizedText Normalize(string original)
    {
        var n = original.Length;
        var chars = new char[n];
        var index = new int[n];
        var count = 0;

        // Pass 1: fold width and case, turn punctuation into spaces.
        for (var i = 0; i < n; i++)
        {
            var c = Fold(original[i]);
            if (!Keep(original, i, c)) c = ' ';
            if (c == ' ' && (count == 0 || chars[count - 1] == ' ')) continue;
            chars[count] = c;
            index[count] = i;
            count++;
        }

        // Pass 2: drop spaces next to CJK characters and at the ends.
        var w = 0;
        for (var r = 0; r < count; r++)
        {
            var c = chars[r];
            if (c == ' ')
            {
                var prev = w > 0 ? chars[w - 1] : '\0';
                var next = r + 1 < count ? chars[r + 1] : '\0';
                if (prev == '\0' || next == '\0' || LanguageDetector.IsCjk(prev) || LanguageDetector.IsCjk(next)) continue;
            }
            chars[w] = c;
            index[w] = index[r];
            w++;
        }
        count = w;

        // Pass 3: remove skip words.
        if (_cjkSkipWords.Length > 0 || _latinSkipWords.Count > 0)
            count = RemoveSkipWords(chars, index, count);

        return new NormalizedText(original, new string(chars, 0, count), index[..count]);
    }

    private int RemoveSkipWords(char[] chars, int[] index, int count)
    {
        var w = 0;
        var r = 0;
        while (r < count)
        {
            var c = chars[r];
            if (LanguageDetector.IsCjk(c))
            {
                var skipped = false;
                foreach (var word in _cjkSkipWords)
                {
                    if (r + word.Length <= count && new ReadOnlySpan<char>(chars, r, word.Length).SequenceEqual(word))
                    {
                        r += word.Length;
                        skipped = true;
                        break;
                    }
                }
                if (skipped) continue;
            }
            else if (c is >= 'a' and <= 'z' && (r == 0 || !IsAsciiAlnum(chars[r - 1])) && _latinSkipWords.Count > 0)
            {
                var end = r;
                while (end < count && (IsAsciiAlnum(chars[end]) || chars[end] == '\'')) end++;
                var word = new string(chars, r, end - r);
                if (_latinSkipWords.Contains(word))
                {
                    r = end;
                    if (r < count && chars[r] == ' ') r++;
                    else if (w > 0 && chars[w - 1] == ' ') w--;
                    continue;
                }
            }
            chars[w] = chars[r];
            index[w] = index[r];
            w++;
            r++;
        }
        // Removing a word may leave a space at an edge or next to a CJK character.
        var k = 0;
        for (var i = 0; i < w; i++)
        {
            if (chars[i] == ' ')
            {
                var prev = k > 0 ? chars[k - 1] : '\0';
                var next = i + 1 < w ? chars[i + 1] : '\0';
                if (prev is '\0' or ' ' || next == '\0' || LanguageDetector.IsCjk(prev) || LanguageDetector.IsCjk(next)) continue;
            }
            chars[k] = chars[i];
            index[k] = index[i];
            k++;
        }
        return k;
    }

    /// <summary>Canonical form of a template literal: same folding, spaces kept as written.</summary>
    public static string FoldLiteral(string literal)
    {
        var chars = new char[literal.Length];
        for (var i = 0; i < literal.Length; i++) chars[i] = Fold(literal[i]);
        return new string(chars);
    }

    private static char Fold(char c)
    {
        if (c is >= '\uFF01' and <= '\uFF5E') c = (char)(c - 0xFEE0);
        else if (c is '\u3000' or '\t' or '\r' or '\n' or '\u00A0') c = ' ';
        else if (c is '\u2019' or '\u2018') c = '\'';
        else if (c is '\u2013' or '\u2014') c = '-';
        return c is >= 'A' and <= 'Z' ? (char)(c + 32) : char.ToLowerInvariant(c);
    }

    private static bool Keep(string s, int i, char c)
    {
        if (c == ' ') return true;
        if (LanguageDetector.IsCjk(c) || char.IsLetterOrDigit(c)) return true;
        switch (c)
        {
            case '%' or '&':
                return true;
            case '.':
                return i > 0 && i + 1 < s.Length && char.IsDigit(Fold(s[i - 1])) && char.IsDigit(Fold(s[i + 1]));
            case '\'':
                return i > 0 && i + 1 < s.Length && char.IsLetter(Fold(s[i - 1])) && char.IsLetter(Fold(s[i + 1]));
            case '-':
                // In-word (hip-hop, twenty-three) or a sign before a digit (-2).
                return i + 1 < s.Length && char.IsLetterOrDigit(Fold(s[i + 1])) &&
                       (i == 0 || char.IsLetterOrDigit(Fold(s[i - 1])) || s[i - 1] == ' ' || char.IsDigit(Fold(s[i + 1])));
            default:
                return false;
        }
    }
}
