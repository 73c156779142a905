using System.Text;

namespace CabinAgent.Corpus;

/// <summary>
/// The normalized form two sentences are compared by (dedupe, the held-out check): lower case, letters and digits
/// only. "Play Oasis!" and "play oasis" are one sentence to a model that sees ASR output without punctuation.
/// </summary>
public static class TextKey
{
    public static string Normalize(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var c in text)
            if (char.IsLetterOrDigit(c))
                sb.Append(char.ToLowerInvariant(c));
        return sb.ToString();
    }
}
