namespace CabinAgent.Safety;

public enum Answer { Other, Yes, No }

/// <summary>
/// Tells a yes from a no (either language) in a normalised transcript. The longest listed word at the start wins
/// (<c>no problem</c> is a yes, <c>不可以</c> a no); a few trailing words are allowed (<c>好的，打开吧</c>, <c>yes please</c>),
/// but a single-character word must stand alone (<c>好</c> is a yes, <c>好冷啊</c> is not). Anything longer is
/// a new request, not an answer.
/// </summary>
internal sealed class ConfirmationAnswers
{
    private const string Particles = "吧啊呀呢哦嗯了的噢哈";
    private const int MaxTrailingChars = 4;
    private const int MaxTrailingWords = 2;

    private readonly (string Word, Answer Answer)[] _words;

    public ConfirmationAnswers(IEnumerable<string> yes, IEnumerable<string> no, PhraseNormalizer normalizer)
    {
        _words = yes.Select(w => (normalizer.Normalize(w), Answer.Yes))
            .Concat(no.Select(w => (normalizer.Normalize(w), Answer.No)))
            .Where(w => w.Item1.Length > 0)
            .OrderByDescending(w => w.Item1.Length)
            .ToArray();
    }

    public Answer Classify(string normalized)
    {
        var text = normalized.Trim();
        if (text.Length == 0) return Answer.Other;
        foreach (var (word, answer) in _words)
        {
            if (!text.StartsWith(word, StringComparison.Ordinal)) continue;
            var rest = text[word.Length..];
            var latin = word[^1] is >= 'a' and <= 'z';
            if (latin)
            {
                if (rest.Length > 0 && rest[0] != ' ') continue; // "nope" is not "no" + "pe"
                var words = rest.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (words.Length <= MaxTrailingWords) return answer;
                continue;
            }
            rest = rest.Trim().TrimEnd(Particles.ToCharArray());
            if (rest.Length == 0 || rest.Replace(word, "", StringComparison.Ordinal).Length == 0) return answer;
            if (word.Length > 1 && rest.Length <= MaxTrailingChars) return answer;
        }
        return Answer.Other;
    }
}
