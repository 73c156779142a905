using System.Globalization;
using System.Text;
using CabinAgent.Actions;

namespace CabinAgent.Safety;

/// <summary>
/// Puts a transcript into the one form the safety layer's phrase lists (emergency phrases, situations, confirmation
/// answers) are written against: NFKC (full-width → half-width),
/// lower case, traditional → simplified for the configured characters, the ideographic zero 〇 → 零 (ASR writes
/// <c>一一〇</c> as often as <c>一一零</c>, and 〇 is neither a letter nor a digit), apostrophes removed (<c>don't</c> → <c>dont</c>),
/// every other punctuation mark or symbol → a space, spaces collapsed, and spaces dropped next to Chinese
/// characters and between digits (ASR writes <c>救 命</c>, <c>9 1 1</c>).
/// Not the <c>TemplateNormalizer</c> of the deterministic tier, on purpose: a phrase must match however ASR spelled
/// it, so this one folds harder (digits joined across spaces, 〇, traditional characters, no symbols kept) and keeps
/// every word — a filler is never dropped from a cry for help — and it needs no way back to the original text, since
/// nothing is copied out of it.
/// </summary>
public sealed class PhraseNormalizer
{
    private readonly Dictionary<char, char> _simplified;

    public PhraseNormalizer(IReadOnlyDictionary<char, char>? traditionalToSimplified = null)
    {
        _simplified = traditionalToSimplified is null ? new() : new Dictionary<char, char>(traditionalToSimplified);
    }

    public string Normalize(string text)
    {
        if (string.IsNullOrEmpty(text)) return "";
        var nfkc = text.Normalize(NormalizationForm.FormKC);
        var spaced = new StringBuilder(nfkc.Length);
        foreach (var raw in nfkc)
        {
            var c = char.ToLowerInvariant(raw);
            if (_simplified.TryGetValue(c, out var s)) c = s;
            if (c == '〇') c = '零';
            if (c is '\'' or '’' or '‘' or '`') continue;
            var cat = CharUnicodeInfo.GetUnicodeCategory(c);
            var keep = char.IsLetterOrDigit(c) || cat is UnicodeCategory.NonSpacingMark;
            spaced.Append(keep ? c : ' ');
        }

        // Collapse spaces, then drop the ones that only separate CJK characters or digits.
        var output = new StringBuilder(spaced.Length);
        for (var i = 0; i < spaced.Length; i++)
        {
            var c = spaced[i];
            if (c != ' ')
            {
                output.Append(c);
                continue;
            }
            if (output.Length == 0 || output[^1] == ' ') continue;
            var next = i + 1;
            while (next < spaced.Length && spaced[next] == ' ') next++;
            if (next >= spaced.Length) break;
            var prev = output[^1];
            var after = spaced[next];
            var join = LanguageDetector.IsCjk(prev) || LanguageDetector.IsCjk(after) || (char.IsDigit(prev) && char.IsDigit(after));
            if (!join) output.Append(' ');
            i = next - 1;
        }
        return output.ToString();
    }
}
