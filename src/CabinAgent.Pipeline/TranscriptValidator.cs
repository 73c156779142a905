using System.Globalization;
using System.Text;
using CabinAgent.Actions;

namespace CabinAgent.Pipeline;

/// <summary>
/// Decides whether a transcript is something the understanding tiers should see at all.
/// Every rejection carries a reason a person can act on.
/// </summary>
public static class TranscriptValidator
{
    public const int MaxLength = 1000;

    public static readonly IReadOnlySet<string> SupportedLanguages = new HashSet<string>(StringComparer.Ordinal) { "zh", "en" };

    /// <summary>
    /// For JSON from outside (transcripts, replay lines, acks): a repeated key is an error at parse time, with a reason,
    /// rather than an exception later when the key is read.
    /// </summary>
    public static readonly System.Text.Json.JsonDocumentOptions StrictJson = new() { AllowDuplicateProperties = false };

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Decodes transcript bytes strictly; invalid UTF-8 is a rejection, not a replacement character.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> bytes, out string text, out string? reason)
    {
        try
        {
            text = StrictUtf8.GetString(bytes);
            reason = null;
            return true;
        }
        catch (DecoderFallbackException)
        {
            text = "";
            reason = "transcript is not valid UTF-8";
            return false;
        }
    }

    /// <summary>Returns null when the transcript may go on, else why not.</summary>
    public static string? Check(string? text, string? lang)
    {
        if (lang is not null && lang != "auto" && !SupportedLanguages.Contains(lang))
            return $"unsupported language '{Truncate(lang)}' (supported: zh, en)";
        if (string.IsNullOrWhiteSpace(text))
            return "empty transcript";
        if (text.Length > MaxLength)
            return $"transcript too long ({text.Length} characters, limit {MaxLength})";

        var letters = 0;
        var zhOrEnLetters = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]))
                    return "transcript contains invalid text (unpaired surrogate)";
                i++;
                continue;
            }
            if (char.IsLowSurrogate(c))
                return "transcript contains invalid text (unpaired surrogate)";
            if (c == '\uFFFD')
                return "transcript contains invalid text (replacement character: it was not valid UTF-8)";
            var category = char.GetUnicodeCategory(c);
            if (category is UnicodeCategory.Control && !char.IsWhiteSpace(c))
                return $"transcript contains binary data (control character U+{(int)c:X4})";
            if (category is UnicodeCategory.Format or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned)
                continue;
            if (char.IsLetter(c))
            {
                letters++;
                if (LanguageDetector.IsCjk(c) || LanguageDetector.IsLatinLetter(c))
                    zhOrEnLetters++;
            }
        }
        if (letters > 0 && zhOrEnLetters == 0)
            return "unsupported language (neither Chinese nor English)";
        return null;
    }

    private static string Truncate(string s) => s.Length <= 16 ? s : s[..16] + "…";
}
