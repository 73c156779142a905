using System.Text.Json.Serialization;

namespace CabinAgent.Actions;

/// <summary>The languages the agent hears and answers in; on the wire <c>zh</c> and <c>en</c>.</summary>
[JsonConverter(typeof(WireNameConverter<Language>))]
public enum Language
{
    Zh,
    En,
}

public static class Languages
{
    /// <summary><c>zh</c> or <c>en</c>: the code in payloads, user properties, catalog messages and templates.</summary>
    public static string Code(this Language language) => WireName.Of(language);

    /// <summary>The language with code <paramref name="code"/>, or null for anything but <c>zh</c> and <c>en</c>.</summary>
    public static Language? FromCode(string? code) => WireName.Parse<Language>(code);

    /// <summary>
    /// The language of <paramref name="text"/> by <see cref="LanguageDetector"/>'s rule, or <paramref name="fallback"/>
    /// when the text has no word of either. For callers that run a tier outside the pipeline (tools, tests); the
    /// pipeline decides once per utterance and passes the result on.
    /// </summary>
    public static Language Of(string text, Language fallback) => FromCode(LanguageDetector.Detect(text)) ?? fallback;
}
