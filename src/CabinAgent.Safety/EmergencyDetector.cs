using System.Text.Json;
using System.Text.RegularExpressions;

namespace CabinAgent.Safety;

/// <summary>What the detector heard.</summary>
/// <param name="Service">ambulance, fire, police or general.</param>
/// <param name="PhraseId">The phrase rule that matched (stable id from the phrase file).</param>
/// <param name="Matched">The matched words, normalised.</param>
public sealed record EmergencyMatch(string Service, string PhraseId, string Matched);

/// <summary>A phrase hit that was discarded, and why (for logs and tests).</summary>
public sealed record SuppressedMatch(string PhraseId, string Matched, string Why);

/// <param name="Match">An emergency to call at once, or null.</param>
/// <param name="Ask">When there is no <paramref name="Match"/>: a situation named without enough to act on, for which the
/// driver is asked whether to call (null when there is nothing to ask about).</param>
public sealed record EmergencyScan(string Normalized, EmergencyMatch? Match, IReadOnlyList<SuppressedMatch> Suppressed, EmergencyMatch? Ask = null);

/// <summary>
/// Spots emergencies (Chinese and English) in a transcript, before any understanding tier, in two kinds of data:
/// the phrase list (<c>config/emergency-phrases.json</c>: pleas and calls, "救命", "call 911") and the situation
/// classes (<c>config/emergency/situations.json</c>, <see cref="SituationMatcher"/>: what happened, "撞树上了",
/// "my wife passed out"). The situation filters (past tense, media, questions, …) also apply to phrase hits, so
/// "we had an accident last year" is a story, whichever list names the accident.
/// Phrase rules: patterns with the service they call, plus what cancels a hit —
/// a negation right before it (<c>不用报警</c>, <c>don't call the police</c>), a media or question context before it
/// (<c>播放…</c>, <c>play the song help</c>), or an idiom that contains it (<c>救命稻草</c>, <c>胎压报警</c>).
/// Patterns are linear-time regular expressions (no backtracking) over the normalised text.
/// <para>Precision matters as much as recall here: a false alarm calls an ambulance. Bare words that are common in
/// ordinary speech (<c>help</c>, <c>fire</c>, <c>救护车</c>) only count in the forms the phrase file lists.</para>
/// </summary>
public sealed class EmergencyDetector
{
    public const string EmergencyAction = "EMERGENCY_CALL";

    private readonly PhraseNormalizer _normalizer;
    private readonly (string Id, string Service, Regex Pattern)[] _phrases;
    private readonly Regex _negationBefore;
    private readonly Regex _contextBefore;
    private readonly Regex _idioms;
    private readonly string[] _servicePriority;
    private readonly SituationMatcher? _situations;
    private readonly PhraseFile _file; // kept so the same phrases can be paired with situation rules (With)

    private EmergencyDetector(PhraseFile file, SituationMatcher? situations)
    {
        _situations = situations;
        var map = new Dictionary<char, char>();
        var pairs = file.TraditionalToSimplified ?? "";
        for (var i = 0; i + 1 < pairs.Length; i += 2) map[pairs[i]] = pairs[i + 1];
        _normalizer = new PhraseNormalizer(map);
        const RegexOptions options = RegexOptions.CultureInvariant | RegexOptions.NonBacktracking;
        _phrases = file.Phrases!.Select(p => (p.Id, p.Service, new Regex(p.Pattern, options))).ToArray();
        _negationBefore = new Regex("(?:" + string.Join("|", file.NegationBefore!) + ")$", options);
        _contextBefore = new Regex(string.Join("|", file.ContextBefore!), options);
        _idioms = new Regex(string.Join("|", file.Idioms!), options);
        _servicePriority = file.ServicePriority!.ToArray();
        _file = file;
    }

    public PhraseNormalizer Normalizer => _normalizer;

    public int PhraseCount => _phrases.Length;

    public int SituationClassCount => _situations?.ClassCount ?? 0;

    /// <summary>The services an emergency can call, highest priority first.</summary>
    public IReadOnlyList<string> Services => _servicePriority;

    /// <summary>The daemon's detector: <c>emergency-phrases.json</c> and <c>emergency/situations.json</c> from the config folder.</summary>
    public static EmergencyDetector LoadConfig(string configDirectory)
    {
        var phrases = Load(Path.Combine(configDirectory, SafetyModule.PhrasesFile));
        var situations = SituationRules.Load(Path.Combine(configDirectory, SituationRules.Folder, SituationRules.FileName), phrases.Services);
        return phrases.With(situations);
    }

    /// <summary>This detector's phrases together with <paramref name="situations"/>.</summary>
    public EmergencyDetector With(SituationMatcher situations) => new(_file, situations);

    public static EmergencyDetector Load(string path)
    {
        if (!File.Exists(path))
            throw new SafetyConfigException($"emergency phrase file not found: {path}");
        using var stream = File.OpenRead(path);
        return Parse(stream, path);
    }

    /// <summary>Phrases only (no situation classes): the phrase list's own tests, and tools.</summary>
    public static EmergencyDetector Parse(Stream json, string sourceName = "emergency phrases")
    {
        PhraseFile? file;
        try
        {
            file = JsonSerializer.Deserialize<PhraseFile>(json, SafetyOptions.Json);
        }
        catch (JsonException ex)
        {
            throw new SafetyConfigException($"{sourceName}: invalid JSON: {ex.Message}", ex);
        }
        var problems = new List<string>();
        if (file is null) throw new SafetyConfigException($"{sourceName}: empty");
        if (file.Phrases is not { Count: > 0 }) problems.Add("phrases missing");
        if (file.NegationBefore is not { Count: > 0 }) problems.Add("negation_before missing");
        if (file.ContextBefore is not { Count: > 0 }) problems.Add("context_before missing");
        if (file.Idioms is not { Count: > 0 }) problems.Add("idioms missing");
        if (file.ServicePriority is not { Count: > 0 }) problems.Add("service_priority missing");
        if ((file.TraditionalToSimplified?.Length ?? 0) % 2 != 0) problems.Add("traditional_to_simplified must be pairs of characters");
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in file.Phrases ?? [])
        {
            if (string.IsNullOrWhiteSpace(p.Id) || !ids.Add(p.Id)) problems.Add($"phrase id '{p.Id}' missing or duplicated");
            if (file.ServicePriority?.Contains(p.Service) != true) problems.Add($"phrase {p.Id}: service '{p.Service}' not in service_priority");
        }
        if (problems.Count > 0) throw new SafetyConfigException($"{sourceName}: " + string.Join("; ", problems));
        try
        {
            return new EmergencyDetector(file, null);
        }
        catch (ArgumentException ex)
        {
            throw new SafetyConfigException($"{sourceName}: bad pattern: {ex.Message}", ex);
        }
        catch (NotSupportedException ex)
        {
            throw new SafetyConfigException($"{sourceName}: pattern uses a construct without a linear-time guarantee: {ex.Message}", ex);
        }
    }

    /// <summary>The emergency in <paramref name="text"/>, or null.</summary>
    public EmergencyMatch? Detect(string text) => Scan(text).Match;

    /// <summary>Detection with its reasoning: every hit kept or discarded.</summary>
    public EmergencyScan Scan(string text)
    {
        var normalized = _normalizer.Normalize(text);
        if (normalized.Length == 0) return new EmergencyScan(normalized, null, []);
        List<SuppressedMatch>? suppressed = null;
        EmergencyMatch? best = null;
        var bestRank = int.MaxValue;
        List<(int Start, int End)>? idiomSpans = null;

        foreach (var (id, service, pattern) in _phrases)
        {
            for (var m = pattern.Match(normalized); m.Success; m = m.NextMatch())
            {
                if (m.Length == 0) break;
                var why = Veto(normalized, m.Index, m.Length, ref idiomSpans);
                if (why is not null)
                {
                    (suppressed ??= []).Add(new SuppressedMatch(id, m.Value, why));
                    continue;
                }
                var rank = Array.IndexOf(_servicePriority, service);
                if (rank < bestRank)
                {
                    best = new EmergencyMatch(service, id, m.Value.Trim());
                    bestRank = rank;
                }
                break;
            }
        }
        if (_situations is null) return new EmergencyScan(normalized, best, suppressed ?? (IReadOnlyList<SuppressedMatch>)[]);

        // The phrase list's idioms, negations and media contexts hold for situations too ("no need to call an ambulance").
        var spans = idiomSpans;
        var (hits, dropped) = _situations.Scan(normalized, (start, length) => PhraseVeto(normalized, start, length, ref spans));
        if (dropped.Count > 0) (suppressed ??= []).AddRange(dropped);
        EmergencyMatch? ask = null;
        var askRank = int.MaxValue;
        foreach (var hit in hits)
        {
            var rank = Array.IndexOf(_servicePriority, hit.Service);
            var match = new EmergencyMatch(hit.Service, "situation:" + hit.ClassId, hit.Matched);
            if (hit.Strength == CueStrength.Call && rank < bestRank) (best, bestRank) = (match, rank);
            else if (hit.Strength == CueStrength.Ask && rank < askRank) (ask, askRank) = (match, rank);
        }
        if (best is not null)
        {
            // An ask-strength cue cannot call by itself, but once something calls it still says who is needed:
            // "we got rear-ended, my neck hurts" calls, and the neck is why it calls an ambulance.
            if (ask is not null && askRank < bestRank) (best, bestRank) = (ask, askRank);
            // A stated crime calls the police even when someone is hurt (the class's "outranks"): the attacker may
            // still be there, and the police dispatch an ambulance with the officers (docs/safety.md).
            foreach (var hit in hits)
                if (hit is { Strength: CueStrength.Call, Outranks: { } over } && over.Contains(best.Service))
                    (best, bestRank) = (new EmergencyMatch(hit.Service, "situation:" + hit.ClassId, hit.Matched), Array.IndexOf(_servicePriority, hit.Service));
        }
        return new EmergencyScan(normalized, best, suppressed ?? (IReadOnlyList<SuppressedMatch>)[], best is null ? ask : null);
    }

    private string? Veto(string text, int start, int length, ref List<(int Start, int End)>? idiomSpans) =>
        PhraseVeto(text, start, length, ref idiomSpans) ?? _situations?.Veto(text, start, length);

    private string? PhraseVeto(string text, int start, int length, ref List<(int Start, int End)>? idiomSpans)
    {
        if (idiomSpans is null)
        {
            idiomSpans = [];
            foreach (Match idiom in _idioms.Matches(text))
                if (idiom.Length > 0) idiomSpans.Add((idiom.Index, idiom.Index + idiom.Length));
        }
        foreach (var (s, e) in idiomSpans)
            if (s < start + length && start < e) return $"idiom '{text[s..e]}'";
        var prefix = text[..start];
        if (_negationBefore.IsMatch(prefix)) return "negated";
        var context = _contextBefore.Match(prefix);
        if (context.Success) return $"context '{context.Value.Trim()}'";
        return null;
    }

    private sealed class PhraseFile
    {
        public string? TraditionalToSimplified { get; init; }
        public List<string>? ServicePriority { get; init; }
        public List<string>? NegationBefore { get; init; }
        public List<string>? ContextBefore { get; init; }
        public List<string>? Idioms { get; init; }
        public List<Phrase>? Phrases { get; init; }
        public string? Comment { get; init; }
    }

    private sealed class Phrase
    {
        public string Id { get; init; } = "";
        public string Service { get; init; } = "";
        public string Pattern { get; init; } = "";
        public string? Comment { get; init; }
    }
}
