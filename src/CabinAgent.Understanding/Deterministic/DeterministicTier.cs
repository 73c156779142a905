using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CabinAgent.Actions;

namespace CabinAgent.Understanding.Deterministic;

/// <summary>
/// The fast path: understands common commands by matching sentence templates kept as data
/// (<c>config/intents/</c>), without any model. Deterministic and allocation-light; anything it cannot match
/// cleanly is <see cref="NotUnderstood"/> with a reason, so the next tier may try.
/// <para>
/// Confidence: the template's <c>confidence</c> (1.0 unless the data lowers it for indirect phrasing such as
/// 我有点冷), times 0.95 when a parameter is an open span (artist, destination...), whose edges are a guess.
/// </para>
/// <para>
/// Language: the language of the template that matched, i.e. the grammar the driver used — so
/// <c>播放 Taylor Swift 的 Love Story</c> is answered in Chinese. <see cref="Utterance.Lang"/> only decides which
/// language's templates are tried first; the tier never guesses the language again (the pipeline decided it).
/// </para>
/// </summary>
public sealed class DeterministicTier : IUnderstandingTier
{
    /// <summary>Longer transcripts are not commands the fast path should guess at.</summary>
    public const int MaxUtteranceLength = 200;

    private readonly IntentSet _intents;
    private readonly CompiledTemplate[] _zh;
    private readonly CompiledTemplate[] _en;

    private DeterministicTier(IntentSet intents)
    {
        _intents = intents;
        _zh = intents.TemplatesByLanguage.GetValueOrDefault(LanguageDetector.Chinese) ?? [];
        _en = intents.TemplatesByLanguage.GetValueOrDefault(LanguageDetector.English) ?? [];
    }

    public Tier Name => Tier.Deterministic;

    /// <summary>Number of compiled template sentences, by language.</summary>
    public int SentenceCount(string language) =>
        _intents.TemplatesByLanguage.TryGetValue(language, out var t) ? t.Length : 0;

    /// <summary>The test sentences written beside the templates.</summary>
    public IReadOnlyList<IntentTestCase> TestCases => _intents.TestCases;

    /// <summary>
    /// Loads and compiles every <c>*.json</c> under <paramref name="intentsDirectory"/>, checked against the
    /// catalog. Throws <see cref="IntentDataException"/> naming the file and entry on bad data.
    /// </summary>
    public static DeterministicTier Load(string intentsDirectory, ActionCatalog catalog) =>
        new(IntentLoader.Load(intentsDirectory, catalog));

    public ValueTask<TierResult> UnderstandAsync(Utterance utterance, CancellationToken cancellationToken)
    {
        try
        {
            return ValueTask.FromResult(Understand(utterance));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A bug here must cost one utterance, not the agent: the pipeline records a failed outcome.
            return ValueTask.FromResult<TierResult>(new TierFailed($"deterministic tier error: {ex.GetType().Name}: {ex.Message}"));
        }
    }

    public TierResult Understand(Utterance utterance)
    {
        var text = utterance.Text;
        if (string.IsNullOrWhiteSpace(text))
            return new NotUnderstood("empty utterance");
        if (text.Length > MaxUtteranceLength)
            return new NotUnderstood($"utterance longer than {MaxUtteranceLength} characters");

        var whole = UnderstandText(text, utterance.Lang);
        // Not when a template already explained the words around a break with a span: the break may be inside
        // a name ("play Hello, Goodbye by the Beatles" must not become the song "Hello").
        if (whole is not NotUnderstood notUnderstood
            || notUnderstood.Reason.StartsWith("ambiguous", StringComparison.Ordinal)
            || notUnderstood.Reason.EndsWith(CompiledTemplate.ClauseBreakReason, StringComparison.Ordinal))
            return whole;
        return UnderstandClauses(text, utterance.Lang) ?? whole;
    }

    /// <summary>Confidence factor for a command heard in one clause of a longer utterance.</summary>
    public const double ClauseConfidenceFactor = 0.9;

    /// <summary>Template confidence at or below which a clause is a remark (我有点冷), not a command.</summary>
    private const double RemarkConfidence = 0.9;

    private static readonly char[] ClauseBreaks = ['，', '。', '？', '！', '；', ',', '?', '!', ';'];

    /// <summary>
    /// Drivers often put a remark before or after the command ("今天要去接孩子，导航到清华大学", "空调关一下，有点冷了",
    /// "I'm running late, call Mom"). When the whole utterance matches nothing, each clause is tried alone.
    /// A clause's command is taken only when it is the one direct command heard: other clauses must match
    /// nothing or only an indirect remark (confidence ≤ 0.9). Two direct commands (a compound request) or
    /// two remarks that disagree are left to the next tier. Returns null when no clause decides.
    /// </summary>
    private TierResult? UnderstandClauses(string text, Language lang)
    {
        if (text.AsSpan().IndexOfAny(ClauseBreaks) < 0) return null;
        var clauses = text.Split(ClauseBreaks, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (clauses.Length < 2) return null;

        Understood? command = null;
        var commands = 0;
        Understood? remark = null;
        var remarksDisagree = false;
        foreach (var clause in clauses)
        {
            if (UnderstandText(clause, lang) is not Understood heard)
            {
                // "call mom, no wait" / "导航到公司，算了": a clause that takes something back voids the guess.
                if (TakesBack(clause)) return null;
                continue;
            }
            if (heard.Confidence > RemarkConfidence)
            {
                if (command is null || !SameCommand(command, heard)) commands++;
                command ??= heard;
            }
            else if (remark is null) remark = heard;
            else if (!SameCommand(remark, heard)) remarksDisagree = true;
        }
        if (commands > 1) return null;
        var chosen = command ?? (remarksDisagree ? null : remark);
        if (chosen is null) return null;
        return chosen with
        {
            Confidence = Math.Round(chosen.Confidence * ClauseConfidenceFactor, 4),
            Explanation = $"clause of a longer utterance; {chosen.Explanation}",
        };
    }

    private static readonly string[] ChineseTakeBacks = ["不要", "别", "算了", "不用", "取消", "等等", "等一下", "不对", "不了"];
    private static readonly HashSet<string> EnglishTakeBacks =
        new(["don't", "dont", "not", "no", "nope", "wait", "cancel", "never", "nevermind", "forget"], StringComparer.OrdinalIgnoreCase);

    private static bool TakesBack(string clause)
    {
        foreach (var word in ChineseTakeBacks)
            if (clause.Contains(word, StringComparison.Ordinal)) return true;
        foreach (var word in clause.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            if (EnglishTakeBacks.Contains(word.Trim('.', '"', '\''))) return true;
        return false;
    }

    private static bool SameCommand(Understood a, Understood b) =>
        a.Action == b.Action && JsonNode.DeepEquals(a.Parameters, b.Parameters);

    private TierResult UnderstandText(string text, Language lang)
    {
        var normalized = _intents.Normalizer.Normalize(text);
        if (normalized.Text.Length == 0)
            return new NotUnderstood("no words left after removing punctuation and fillers");

        var (primary, secondary) = lang == Language.En ? (_en, _zh) : (_zh, _en);

        Candidate? best = null;
        Candidate? rival = null;
        string? rejection = null;
        try
        {
            Search(primary, normalized, ref best, ref rival, ref rejection);
            Search(secondary, normalized, ref best, ref rival, ref rejection);
        }
        catch (RegexMatchTimeoutException)
        {
            return new NotUnderstood("template matching took too long");
        }

        if (best is null)
        {
            return rejection is not null
                ? new NotUnderstood(rejection) { Explanation = $"normalized: \"{normalized.Text}\"" }
                : new NotUnderstood("no template matches") { Explanation = $"normalized: \"{normalized.Text}\"" };
        }
        if (rival is not null)
        {
            return new NotUnderstood(
                $"ambiguous: {best.Template.Id} ({best.Template.Action.Name}) and {rival.Template.Id} ({rival.Template.Action.Name}) match equally well")
            {
                Explanation = $"normalized: \"{normalized.Text}\"",
            };
        }

        // Explanations are built for the winner only.
        best = best.Template.Extract(best.Match, normalized, explain: true, out _)!;
        var template = best.Template;
        return new Understood(template.Action.Name, best.Parameters, best.Confidence, Languages.FromCode(template.Language) ?? lang)
        {
            Explanation = best.Explanation,
            Details = new JsonObject
            {
                ["template_id"] = template.Id,
                ["template"] = template.Sentence,
                ["file"] = template.File,
                ["normalized"] = normalized.Text,
                ["slots"] = best.Slots,
            },
        };
    }

    /// <summary>
    /// Tries every template of one language; keeps the best candidate and, when another one with a different
    /// result scores the same, that rival (the caller then refuses to guess).
    /// </summary>
    private static void Search(CompiledTemplate[] templates, NormalizedText text, ref Candidate? best,
        ref Candidate? rival, ref string? rejection)
    {
        var s = text.Text;
        foreach (var template in templates)
        {
            if (!template.MayMatch(s)) continue;
            var match = template.Regex.Match(s);
            if (!match.Success) continue;
            var candidate = template.Extract(match, text, explain: false, out var reason);
            if (candidate is null)
            {
                rejection ??= reason;
                continue;
            }
            if (best is null)
            {
                best = candidate;
                continue;
            }
            var order = candidate.CompareTo(best);
            if (order > 0)
            {
                best = candidate;
                rival = null;
            }
            else if (order == 0 && !candidate.SameResult(best))
            {
                rival ??= candidate;
            }
        }
    }
}
