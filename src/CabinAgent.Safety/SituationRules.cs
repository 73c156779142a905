using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace CabinAgent.Safety;

/// <summary>How much a cue says: enough to call at once, or only enough to ask the driver first.</summary>
public enum CueStrength { Call, Ask }

/// <summary>
/// Reads and checks <c>config/emergency/situations.json</c> (situation classes, their cues, the filters) and builds the
/// <see cref="SituationMatcher"/>. Every problem names the file and the line it is on, because whoever edits a
/// pattern at the road-side must find it without reading this code.
/// </summary>
public static class SituationRules
{
    public const string FileName = "situations.json";
    public const string Folder = "emergency";

    private static readonly string[] FilterKinds = ["overlap", "before", "anywhere"];

    public static SituationMatcher Load(string path, IReadOnlyCollection<string> services)
    {
        if (!File.Exists(path))
            throw new SafetyConfigException($"emergency situation rules not found: {path}");
        return Parse(File.ReadAllText(path), path, services);
    }

    public static SituationMatcher Parse(string json, string sourceName, IReadOnlyCollection<string> services)
    {
        RuleFile? file;
        try
        {
            file = JsonSerializer.Deserialize<RuleFile>(json, SafetyOptions.Json);
        }
        catch (JsonException ex)
        {
            var line = ex.LineNumber is { } l ? $":{l + 1}" : "";
            throw new SafetyConfigException($"{sourceName}{line}: invalid JSON: {ex.Message}", ex);
        }
        if (file is null) throw new SafetyConfigException($"{sourceName}: empty");

        var lines = json.Split('\n');
        var problems = new List<string>();
        void Problem(string needle, string message) => problems.Add($"{sourceName}:{LineOf(lines, needle)}: {message}");

        var lexicon = file.Lexicon ?? new Dictionary<string, string>();
        var cues = new List<SituationMatcher.Cue>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        if (file.Classes is not { Count: > 0 }) problems.Add($"{sourceName}:1: classes missing");
        foreach (var c in file.Classes ?? [])
        {
            if (string.IsNullOrWhiteSpace(c.Id) || !ids.Add(c.Id)) { Problem("\"classes\"", $"class id '{c.Id}' missing or duplicated"); continue; }
            if (!services.Contains(c.Service)) Problem($"\"{c.Id}\"", $"class {c.Id}: service '{c.Service}' is not one of {string.Join(", ", services)}");
            if (c.Call is null && c.Ask is null) Problem($"\"{c.Id}\"", $"class {c.Id}: neither call nor ask cues");
            foreach (var over in c.Outranks ?? [])
                if (!services.Contains(over) || over == c.Service) Problem($"\"{c.Id}\"", $"class {c.Id}: outranks '{over}', which is not another of {string.Join(", ", services)}");
            foreach (var (strength, byLang) in new[] { (CueStrength.Call, c.Call), (CueStrength.Ask, c.Ask) })
            {
                if (byLang is null) continue;
                // One regex per pattern: a class's patterns joined can outgrow the linear-time engine's automaton limit.
                foreach (var pattern in byLang.All)
                {
                    var regex = Compile([pattern], lexicon, lines, sourceName, problems, $"class {c.Id}");
                    if (regex is not null) cues.Add(new SituationMatcher.Cue(c.Id, c.Service, strength, regex, c.Outranks is { Count: > 0 } ? c.Outranks : null));
                }
            }
        }

        var filters = new List<SituationMatcher.Filter>();
        var filterIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in file.Filters ?? [])
        {
            if (string.IsNullOrWhiteSpace(f.Id) || !filterIds.Add(f.Id)) { Problem("\"filters\"", $"filter id '{f.Id}' missing or duplicated"); continue; }
            if (!FilterKinds.Contains(f.Kind)) Problem($"\"{f.Id}\"", $"filter {f.Id}: kind '{f.Kind}' is not one of {string.Join(", ", FilterKinds)}");
            if (f.AppliesTo is not (null or "all" or "ask")) Problem($"\"{f.Id}\"", $"filter {f.Id}: applies_to must be all or ask");
            var patterns = f.Kind == "before"
                ? f.All.Select(p => "(?:" + p + ")$").ToList() // the text before a hit must END in the negation
                : f.All;
            var regex = Compile(patterns, lexicon, lines, sourceName, problems, $"filter {f.Id}", original: f.All);
            if (regex is not null) filters.Add(new SituationMatcher.Filter(f.Id, f.Kind, f.AppliesTo == "ask", regex));
        }
        if (problems.Count > 0) throw new SafetyConfigException(string.Join("; ", problems));
        return new SituationMatcher(cues, filters);
    }

    /// <summary>One linear-time regex for a list of patterns, with <c>{name}</c> replaced from the lexicon.</summary>
    private static Regex? Compile(IReadOnlyList<string> patterns, Dictionary<string, string> lexicon, string[] lines,
        string sourceName, List<string> problems, string where, IReadOnlyList<string>? original = null)
    {
        if (patterns.Count == 0)
        {
            problems.Add($"{sourceName}: {where}: no patterns");
            return null;
        }
        var expanded = new List<string>(patterns.Count);
        for (var i = 0; i < patterns.Count; i++)
        {
            var source = (original ?? patterns)[i];
            var pattern = Expand(patterns[i], lexicon, out var unknown);
            if (unknown is not null)
            {
                problems.Add($"{sourceName}:{LineOf(lines, Encode(source))}: {where}: unknown lexicon entry {{{unknown}}}");
                return null;
            }
            // Compiled one by one first, so a bad pattern is reported with its own line; a single pattern is the answer.
            try
            {
                var single = new Regex(pattern, Options);
                if (patterns.Count == 1) return single;
            }
            catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
            {
                problems.Add($"{sourceName}:{LineOf(lines, Encode(source))}: {where}: bad pattern: {ex.Message}");
                return null;
            }
            expanded.Add("(?:" + pattern + ")");
        }
        try
        {
            return new Regex(string.Join("|", expanded), Options);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
        {
            problems.Add($"{sourceName}:{LineOf(lines, Encode((original ?? patterns)[0]))}: {where}: patterns too large together: {ex.Message}");
            return null;
        }
    }

    internal const RegexOptions Options = RegexOptions.CultureInvariant | RegexOptions.NonBacktracking;

    private static string Expand(string pattern, Dictionary<string, string> lexicon, out string? unknown)
    {
        unknown = null;
        var result = pattern;
        var start = 0;
        while ((start = result.IndexOf('{', start)) >= 0)
        {
            var end = result.IndexOf('}', start);
            if (end < 0) break;
            var name = result[(start + 1)..end];
            // {0,6} is a quantifier, not a lexicon entry.
            if (name.Length == 0 || !char.IsLetter(name[0])) { start = end + 1; continue; }
            if (!lexicon.TryGetValue(name, out var words)) { unknown = name; return pattern; }
            var replacement = "(?:" + words + ")";
            result = result[..start] + replacement + result[(end + 1)..];
            start += replacement.Length;
        }
        return result;
    }

    private static readonly JsonSerializerOptions Encoder = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string Encode(string pattern) => JsonSerializer.Serialize(pattern, Encoder);

    /// <summary>1-based line of the first line containing <paramref name="needle"/> (1 when not found).</summary>
    private static int LineOf(string[] lines, string needle)
    {
        for (var i = 0; i < lines.Length; i++)
            if (lines[i].Contains(needle, StringComparison.Ordinal)) return i + 1;
        return 1;
    }

    private sealed class RuleFile
    {
        public string? Comment { get; init; }
        public Dictionary<string, string>? Lexicon { get; init; }
        public List<ClassRule>? Classes { get; init; }
        public List<FilterRule>? Filters { get; init; }
    }

    private sealed class ClassRule
    {
        public string Id { get; init; } = "";
        public string Service { get; init; } = "";
        public ByLang? Call { get; init; }
        public ByLang? Ask { get; init; }
        public List<string>? Outranks { get; init; }
    }

    private sealed class ByLang
    {
        public List<string>? Zh { get; init; }
        public List<string>? En { get; init; }
        public List<string> All => [.. Zh ?? [], .. En ?? []];
    }

    private sealed class FilterRule
    {
        public string Id { get; init; } = "";
        public string Kind { get; init; } = "";
        public string? AppliesTo { get; init; }
        public List<string>? Zh { get; init; }
        public List<string>? En { get; init; }
        public List<string> All => [.. Zh ?? [], .. En ?? []];
    }
}
