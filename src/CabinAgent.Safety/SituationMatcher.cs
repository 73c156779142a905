using System.Text.RegularExpressions;

namespace CabinAgent.Safety;

/// <summary>A situation the driver described, kept after the filters.</summary>
/// <param name="ClassId">The situation class (collision, fire, medical, …) from the rule file.</param>
/// <param name="Service">The service that class calls: fire, ambulance, police or general.</param>
/// <param name="Strength">Call at once, or ask the driver first.</param>
/// <param name="Matched">The cue words, normalised.</param>
/// <param name="Outranks">Services this class's call goes ahead of, whatever the service priority says (a stated crime
/// calls the police even when someone is hurt); null when none.</param>
public sealed record SituationHit(string ClassId, string Service, CueStrength Strength, string Matched,
    IReadOnlyList<string>? Outranks = null);

/// <summary>
/// Recognises emergency situations described in the driver's own words ("撞树上了", "my wife passed out"), not only
/// pleas for help: situation classes with cue patterns, and filters that keep near-misses out (idioms, negation,
/// past tense and time words, media titles, hypotheticals and questions about places). Rules are data
/// (<see cref="SituationRules"/>); this type only runs them. Pure and thread-safe: the patterns are linear-time
/// regular expressions and nothing is stored between calls.
/// </summary>
public sealed class SituationMatcher
{
    internal sealed record Cue(string ClassId, string Service, CueStrength Strength, Regex Pattern, IReadOnlyList<string>? Outranks = null);

    internal sealed record Filter(string Id, string Kind, bool AskOnly, Regex Pattern);

    private readonly Cue[] _cues;
    private readonly Filter[] _filters;

    internal SituationMatcher(IEnumerable<Cue> cues, IEnumerable<Filter> filters)
    {
        // Call cues first: a sentence with both a call and an ask cue calls.
        _cues = cues.OrderBy(c => c.Strength).ToArray();
        _filters = filters.ToArray();
    }

    public int ClassCount => _cues.Select(c => c.ClassId).Distinct().Count();

    /// <summary>Every class whose cue survives the filters (at most one hit per class and strength), and the hits
    /// the filters dropped, with the filter that dropped each.</summary>
    /// <param name="alsoVeto">Another rule set's reason to drop a hit at (start, length), or null (the phrase list's).</param>
    public (IReadOnlyList<SituationHit> Hits, IReadOnlyList<SuppressedMatch> Suppressed) Scan(string normalized,
        Func<int, int, string?>? alsoVeto = null)
    {
        var hits = new List<SituationHit>();
        List<SuppressedMatch>? suppressed = null;
        var context = new SentenceFilters(normalized, _filters);
        foreach (var cue in _cues)
        {
            // A class has one cue per pattern; one hit per class and strength is all the verdict needs.
            if (hits.Exists(h => h.ClassId == cue.ClassId && h.Strength == cue.Strength)) continue;
            for (var m = cue.Pattern.Match(normalized); m.Success; m = m.NextMatch())
            {
                if (m.Length == 0) break;
                var why = context.Veto(m.Index, m.Length, cue.Strength) ?? alsoVeto?.Invoke(m.Index, m.Length);
                if (why is not null)
                {
                    (suppressed ??= []).Add(new SuppressedMatch($"{cue.ClassId}.{cue.Strength.ToString().ToLowerInvariant()}", m.Value, why));
                    continue;
                }
                hits.Add(new SituationHit(cue.ClassId, cue.Service, cue.Strength, m.Value.Trim(), cue.Outranks));
                break;
            }
        }
        return (hits, suppressed ?? (IReadOnlyList<SuppressedMatch>)[]);
    }

    /// <summary>Why a hit at <paramref name="start"/> (from any matcher, e.g. the phrase list) is not acted on, or null.</summary>
    public string? Veto(string normalized, int start, int length, CueStrength strength = CueStrength.Call) =>
        new SentenceFilters(normalized, _filters).Veto(start, length, strength);

    /// <summary>The filters over one sentence; sentence-wide results are computed once, on first need.</summary>
    private sealed class SentenceFilters(string text, Filter[] filters)
    {
        private string?[]? _anywhere;            // per filter: the matched words, or null (not matched / not that kind)
        private List<(int Start, int End, string Id)>? _overlaps;

        public string? Veto(int start, int length, CueStrength strength)
        {
            if (_anywhere is null)
            {
                _anywhere = new string?[filters.Length];
                _overlaps = [];
                for (var i = 0; i < filters.Length; i++)
                {
                    if (filters[i].Kind == "anywhere" && filters[i].Pattern.Match(text) is { Success: true } m) _anywhere[i] = m.Value.Trim();
                    if (filters[i].Kind != "overlap") continue;
                    foreach (Match o in filters[i].Pattern.Matches(text))
                        if (o.Length > 0) _overlaps.Add((o.Index, o.Index + o.Length, filters[i].Id));
                }
            }
            for (var i = 0; i < filters.Length; i++)
            {
                var f = filters[i];
                if (f.AskOnly && strength != CueStrength.Ask) continue;
                switch (f.Kind)
                {
                    case "anywhere" when _anywhere[i] is { } words:
                        return $"{f.Id} '{words}'";
                    case "before" when f.Pattern.Match(text, 0, start) is { Success: true } m:
                        return $"{f.Id} '{m.Value.Trim()}'";
                    case "overlap":
                        foreach (var (s, e, id) in _overlaps!)
                            if (id == f.Id && s < start + length && start < e) return $"{f.Id} '{text[s..e]}'";
                        break;
                }
            }
            return null;
        }
    }
}
