namespace CabinAgent.Understanding.Deterministic;

/// <summary>
/// Guesses the language of a transcript from its script: Chinese characters against Latin words.
/// Each Chinese character and each Latin word counts one; the larger count wins and a tie goes to
/// Chinese (<c>打开 AC</c> is Chinese). Text with neither (digits, punctuation) has no language.
/// </summary>
public static class LanguageDetector
{
    public const string Chinese = "zh";
    public const string English = "en";

    public static string? Detect(string text)
    {
        var cjk = 0;
        var latinWords = 0;
        var inWord = false;
        foreach (var c in text)
        {
            if (TextNormalizer.IsCjk(c))
            {
                cjk++;
                inWord = false;
            }
            else if (c is >= 'a' and <= 'z' or >= 'A' and <= 'Z')
            {
                if (!inWord) latinWords++;
                inWord = true;
            }
            else if (c != '\'')
            {
                inWord = false;
            }
        }
        if (cjk == 0 && latinWords == 0) return null;
        return cjk >= latinWords ? Chinese : English;
    }
}
