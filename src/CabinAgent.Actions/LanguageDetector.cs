namespace CabinAgent.Actions;

/// <summary>
/// The one guess of the language (Chinese or English) of a piece of text, and the one definition of what counts as
/// a Chinese character. The pipeline guesses once per utterance with it and hands the result (a
/// <see cref="Language"/>) to the tiers, the safety layer and the renderer, so the same utterance gets the same
/// language everywhere; the safety layer's own trace replay and tools that call a tier directly use it too.
/// <para>The rule: each Han character (<see cref="IsCjk"/>) counts one and each Latin word (a run of Latin letters,
/// <see cref="IsLatinLetter"/>; an apostrophe between two letters does not end it, so <c>I'm</c> is one word)
/// counts one. Digits, punctuation, symbols, spaces and other scripts count nothing.</para>
/// <list type="bullet">
/// <item>neither Han characters nor Latin words: no language (<c>null</c>) — the caller picks its default;</item>
/// <item>only Han characters: Chinese; only Latin words: English;</item>
/// <item>both, and at least as many Han characters as Latin words: Chinese (<c>打开 AC</c>, <c>call 张三</c>);</item>
/// <item>both, and more Latin words than Han characters: the language of the first Han character or Latin letter —
/// <c>播放 Taylor Swift 的 Love Story</c> is Chinese, <c>play 晴天 by Jay Chou</c> is English.</item>
/// </list>
/// </summary>
public static class LanguageDetector
{
    public const string Chinese = "zh";
    public const string English = "en";

    /// <summary>The language of <paramref name="text"/> by the rule above: <c>"zh"</c>, <c>"en"</c>, or null.</summary>
    public static string? Detect(ReadOnlySpan<char> text)
    {
        int han = 0, latinWords = 0;
        var firstIsHan = false;
        var seenFirst = false;
        var inWord = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (IsCjk(c))
            {
                han++;
                if (!seenFirst) (seenFirst, firstIsHan) = (true, true);
                inWord = false;
            }
            else if (IsLatinLetter(c))
            {
                if (!inWord) latinWords++;
                if (!seenFirst) (seenFirst, firstIsHan) = (true, false);
                inWord = true;
            }
            else if (inWord && IsApostrophe(c) && i + 1 < text.Length && IsLatinLetter(text[i + 1]))
            {
                // "I'm", "don’t": still the same word.
            }
            else
            {
                inWord = false;
            }
        }
        if (han == 0 && latinWords == 0) return null;
        if (latinWords == 0) return Chinese;
        if (han == 0) return English;
        if (han >= latinWords) return Chinese;
        return firstIsHan ? Chinese : English;
    }

    /// <summary>
    /// A Chinese (Han) character: CJK Unified Ideographs (U+4E00–U+9FFF), Extension A (U+3400–U+4DBF),
    /// Compatibility Ideographs (U+F900–U+FAFF), and the ideographic zero 〇 (U+3007), which Chinese numerals use
    /// (二〇二四). The rest of CJK Symbols and Punctuation (U+3000–U+303F: 、。「」, the ideographic space) and
    /// full-width punctuation (，！？) are not characters of the language. Characters outside the Basic Multilingual
    /// Plane (Extension B and later) are surrogate pairs and are not counted.
    /// </summary>
    public static bool IsCjk(char c) =>
        c is >= '\u4E00' and <= '\u9FFF' or >= '\u3400' and <= '\u4DBF' or >= '\uF900' and <= '\uFAFF' or '\u3007';

    /// <summary>A Latin letter as ASR writes English: ASCII a–z, A–Z, or their full-width forms (ａ–ｚ, Ａ–Ｚ).</summary>
    public static bool IsLatinLetter(char c) =>
        c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '\uFF21' and <= '\uFF3A' or >= '\uFF41' and <= '\uFF5A';

    private static bool IsApostrophe(char c) => c is '\'' or '\u2019' or '\uFF07';
}
