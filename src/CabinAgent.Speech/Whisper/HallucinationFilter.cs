using System.Globalization;
using System.Text;

namespace CabinAgent.Speech.Whisper;

/// <summary>
/// Drops the phrases whisper is known to invent on silence and noise ("谢谢观看", "Thank you."):
/// they come from subtitle credits in its training data. A phrase is only dropped when the audio
/// gives reason to doubt it (near-silent, or whisper's own no-speech probability is up), so a
/// driver who really says "thank you" at a normal level is still heard.
/// </summary>
public sealed class HallucinationFilter
{
    private readonly HashSet<string> _phrases;
    private readonly double _nearSilenceDbfs;
    private readonly float _noSpeechProbability;

    public HallucinationFilter(IEnumerable<string> phrases, double nearSilenceDbfs, float noSpeechProbability)
    {
        _phrases = phrases.Select(Normalize).Where(p => p.Length > 0).ToHashSet(StringComparer.Ordinal);
        _nearSilenceDbfs = nearSilenceDbfs;
        _noSpeechProbability = noSpeechProbability;
    }

    public static HallucinationFilter FromOptions(SpeechOptions options) =>
        new(options.HallucinationPhrases, options.NearSilenceDbfs, options.HallucinationNoSpeechProbability);

    /// <summary>Returns the reason to drop the text, or null to keep it.</summary>
    public string? ShouldDrop(string text, double levelDbfs, float noSpeechProbability)
    {
        var normalized = Normalize(text);
        if (normalized.Length == 0) return null;
        if (!_phrases.Contains(normalized)) return null;
        if (levelDbfs < _nearSilenceDbfs)
            return $"known hallucination \"{text}\" on near-silent audio ({levelDbfs:F1} dBFS < {_nearSilenceDbfs:F1})";
        if (noSpeechProbability >= _noSpeechProbability)
            return $"known hallucination \"{text}\" with no-speech probability {noSpeechProbability:F2}";
        return null;
    }

    /// <summary>Case, punctuation, whitespace and full-width forms do not matter for the comparison.</summary>
    public static string Normalize(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text.Normalize(NormalizationForm.FormKC))
        {
            var category = CharUnicodeInfo.GetUnicodeCategory(c);
            if (char.IsWhiteSpace(c) || char.IsPunctuation(c) || char.IsSymbol(c) || category == UnicodeCategory.Format) continue;
            builder.Append(char.ToLowerInvariant(c));
        }
        return builder.ToString();
    }

    /// <summary>RMS level of the samples in dBFS (-120 for digital silence).</summary>
    public static double LevelDbfs(ReadOnlySpan<float> samples)
    {
        if (samples.IsEmpty) return -120;
        double sum = 0;
        foreach (var s in samples) sum += s * (double)s;
        var meanSquare = sum / samples.Length;
        return meanSquare > 1e-12 ? Math.Max(-120, 10 * Math.Log10(meanSquare)) : -120;
    }
}
