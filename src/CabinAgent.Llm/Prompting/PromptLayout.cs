using CabinAgent.Llm.Native;

namespace CabinAgent.Llm.Prompting;

/// <summary>
/// The model's chat template split around the user's words: <see cref="PrefixTokens"/> (system
/// prompt and the opening of the user turn) are identical for every utterance and stay in the KV
/// cache; only the utterance and <see cref="SuffixTokens"/> (end of the user turn, opening of the
/// assistant turn) are evaluated per utterance.
/// </summary>
public sealed class PromptLayout
{
    private const string Sentinel = "\u0001CABIN_UTTERANCE\u0001";

    private PromptLayout(int[] prefix, int[] suffix, string template, IReadOnlyDictionary<string, int[]>? suffixByLanguage = null)
    {
        PrefixTokens = prefix;
        SuffixTokens = suffix;
        Template = template;
        _suffixByLanguage = suffixByLanguage;
    }

    private readonly IReadOnlyDictionary<string, int[]>? _suffixByLanguage;

    public int[] PrefixTokens { get; }
    public int[] SuffixTokens { get; }

    /// <summary>The tokens after the utterance for a reply in <paramref name="lang"/> (only the cabin prompt names the language).</summary>
    public int[] SuffixFor(string lang) =>
        _suffixByLanguage is not null && _suffixByLanguage.TryGetValue(lang, out var suffix) ? suffix : SuffixTokens;

    /// <summary>
    /// The cabin model's short prompt (<see cref="CabinPrompt"/>): BOS, the utterance, the reply language's token. No
    /// system prompt, no chat template: the model was trained on exactly this.
    /// </summary>
    public static PromptLayout ForCabinModel(LlamaModel model)
    {
        var bySuffix = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (var lang in new[] { CabinAgent.Actions.LanguageDetector.Chinese, CabinAgent.Actions.LanguageDetector.English })
        {
            var tokens = model.Vocab.Tokenize(CabinPrompt.LanguageToken(lang), addSpecial: false, parseSpecial: true);
            if (tokens.Length != 1) throw new LlamaException($"{model.Path} says it is a cabin model but has no {CabinPrompt.LanguageToken(lang)} token; retrain it with `cabin-agent models train`");
            bySuffix[lang] = tokens;
        }
        return new PromptLayout(model.Vocab.Tokenize("", addSpecial: true, parseSpecial: false), bySuffix[CabinAgent.Actions.LanguageDetector.Chinese], CabinPrompt.Format, bySuffix);
    }

    /// <summary>The template used (the model's own, or the configured override / chatml fallback).</summary>
    public string Template { get; }

    public static PromptLayout Build(LlamaModel model, string systemPrompt, string? templateOverride)
    {
        var template = templateOverride ?? model.ChatTemplate ?? "chatml";
        var rendered = ChatTemplate.Apply(template, [new ChatMessage("system", systemPrompt), new ChatMessage("user", Sentinel)], addAssistant: true);
        var at = rendered.IndexOf(Sentinel, StringComparison.Ordinal);
        if (at < 0) throw new LlamaException("the chat template dropped the user message");
        var prefix = rendered[..at];
        var suffix = rendered[(at + Sentinel.Length)..];
        // Template text may contain control tokens (<|im_start|>); the utterance never may (see UtteranceTokens).
        return new PromptLayout(
            model.Vocab.Tokenize(prefix, addSpecial: model.Vocab.AddBos, parseSpecial: true),
            model.Vocab.Tokenize(suffix, addSpecial: false, parseSpecial: true),
            template);
    }

    /// <summary>The utterance's tokens. Special-token text typed or spoken by a user stays plain text.</summary>
    public static int[] UtteranceTokens(LlamaModel model, string utterance) =>
        model.Vocab.Tokenize(utterance, addSpecial: false, parseSpecial: false);
}
