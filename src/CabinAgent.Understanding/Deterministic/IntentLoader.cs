using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CabinAgent.Actions;

namespace CabinAgent.Understanding.Deterministic;

/// <summary>Everything shared by the sentences of one language: fillers, rules and lists.</summary>
internal sealed class LanguageGrammar(string language)
{
    public string Language { get; } = language;
    public List<string> SkipWords { get; } = [];
    public HashSet<string> SpanStopWords { get; } = new(StringComparer.Ordinal);
    public (string File, SequenceNode Node, string Text)? Prefix { get; set; }
    public (string File, SequenceNode Node, string Text)? Suffix { get; set; }
    public Dictionary<string, (string File, SequenceNode Node)> Rules { get; } = new(StringComparer.Ordinal);

    /// <summary>List name → (file, catalog value → phrases).</summary>
    public Dictionary<string, (string File, Dictionary<string, List<string>> Values)> Lists { get; } =
        new(StringComparer.Ordinal);
}

/// <summary>The compiled content of an intents directory.</summary>
internal sealed class IntentSet
{
    public required Dictionary<string, CompiledTemplate[]> TemplatesByLanguage { get; init; }
    public required TemplateNormalizer Normalizer { get; init; }
    public required List<IntentTestCase> TestCases { get; init; }
}

/// <summary>
/// Reads <c>config/intents/**/*.json</c>, checks every name against the action catalog and compiles each
/// template sentence once into an anchored regex. Any problem throws <see cref="IntentDataException"/> naming
/// the file and the template id, list or rule — the agent must not start with half its sentences.
/// </summary>
internal static class IntentLoader
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(2);

    public static IntentSet Load(string directory, ActionCatalog catalog)
    {
        if (!Directory.Exists(directory))
            throw new IntentDataException(directory, null, "intents directory not found");
        var paths = Directory.GetFiles(directory, "*.json", SearchOption.AllDirectories);
        Array.Sort(paths, StringComparer.Ordinal);
        if (paths.Length == 0)
            throw new IntentDataException(directory, null, "no *.json intent files");

        var files = new List<(string Name, IntentFile Content)>();
        foreach (var path in paths)
            files.Add((Path.GetRelativePath(directory, path), Read(path, Path.GetRelativePath(directory, path))));

        var grammars = new Dictionary<string, LanguageGrammar>(StringComparer.Ordinal);
        foreach (var (name, file) in files)
        {
            var language = file.Language;
            if (language is not (LanguageDetector.Chinese or LanguageDetector.English))
                throw new IntentDataException(name, null, $"\"language\" must be \"zh\" or \"en\", not '{language}'");
            if (!grammars.TryGetValue(language, out var grammar))
                grammars[language] = grammar = new LanguageGrammar(language);
            CollectGrammar(name, file, grammar);
        }

        var allSkipWords = new List<string>();
        foreach (var grammar in grammars.Values) allSkipWords.AddRange(grammar.SkipWords);

        // Interpreted, not RegexOptions.Compiled: compiled regexes of this size cost seconds of JIT on first
        // use (measured: ~5 s for the first command on a busy 2-core box), while the interpreter matches a short
        // command in microseconds once the prefilter has ruled out most templates.
        var options = RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture;
        var byLanguage = new Dictionary<string, List<CompiledTemplate>>(StringComparer.Ordinal);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var tests = new List<IntentTestCase>();
        foreach (var (name, file) in files)
        {
            var grammar = grammars[file.Language!];
            if (!byLanguage.TryGetValue(grammar.Language, out var list))
                byLanguage[grammar.Language] = list = [];
            foreach (var intent in file.Intents ?? [])
            {
                if (string.IsNullOrWhiteSpace(intent.Action))
                    throw new IntentDataException(name, null, "an intent has no \"action\"");
                if (!catalog.TryGet(intent.Action, out var action))
                    throw new IntentDataException(name, intent.Action, "action is not in the catalog");
                foreach (var template in intent.Templates ?? [])
                {
                    if (string.IsNullOrWhiteSpace(template.Id))
                        throw new IntentDataException(name, intent.Action, "a template has no \"id\"");
                    if (!ids.Add(template.Id))
                        throw new IntentDataException(name, template.Id, "template id used twice");
                    if (template.Sentences is not { Count: > 0 })
                        throw new IntentDataException(name, template.Id, "template has no sentences");
                    var confidence = template.Confidence ?? 1.0;
                    if (confidence is <= 0 or > 1)
                        throw new IntentDataException(name, template.Id, "confidence must be in (0, 1]");
                    var fixedSlots = FixedSlots(name, template, action);
                    for (var i = 0; i < template.Sentences.Count; i++)
                    {
                        var entry = template.Sentences.Count == 1 ? template.Id : $"{template.Id}[{i}]";
                        list.Add(CompileSentence(name, entry, template.Sentences[i], grammar, action, fixedSlots,
                            confidence, options, allSkipWords));
                    }
                }
                foreach (var test in intent.Tests ?? [])
                {
                    if (string.IsNullOrWhiteSpace(test.Text))
                        throw new IntentDataException(name, intent.Action, "a test has no \"text\"");
                    tests.Add(new IntentTestCase(name, grammar.Language, test.Text, action.Name,
                        test.Parameters ?? new JsonObject(), null));
                }
            }
            foreach (var reject in file.Rejects ?? [])
            {
                if (reject.Text is null)
                    throw new IntentDataException(name, "rejects", "a reject has no \"text\"");
                tests.Add(new IntentTestCase(name, grammar.Language, reject.Text, null, new JsonObject(), reject.Reason));
            }
        }

        var result = new Dictionary<string, CompiledTemplate[]>(StringComparer.Ordinal);
        foreach (var (language, list) in byLanguage) result[language] = list.ToArray();
        return new IntentSet
        {
            TemplatesByLanguage = result,
            Normalizer = new TemplateNormalizer(allSkipWords),
            TestCases = tests,
        };
    }

    private static IntentFile Read(string path, string name)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return JsonSerializer.Deserialize(stream, IntentJsonContext.Default.IntentFile)
                   ?? throw new IntentDataException(name, null, "empty file");
        }
        catch (JsonException ex)
        {
            var where = ex.LineNumber is { } line ? $"line {line + 1}: " : "";
            throw new IntentDataException(name, null, $"{where}invalid JSON: {ex.Message}", ex);
        }
    }

    private static void CollectGrammar(string name, IntentFile file, LanguageGrammar grammar)
    {
        if (file.SkipWords is not null) grammar.SkipWords.AddRange(file.SkipWords);
        foreach (var word in file.SpanStopWords ?? [])
            grammar.SpanStopWords.Add(TemplateNormalizer.FoldLiteral(word.Trim()));
        if (file.Prefix is not null)
        {
            if (grammar.Prefix is { } existing)
                throw new IntentDataException(name, "prefix", $"prefix of '{grammar.Language}' already set in {existing.File}");
            grammar.Prefix = (name, ParseOrThrow(name, "prefix", file.Prefix), file.Prefix);
        }
        if (file.Suffix is not null)
        {
            if (grammar.Suffix is { } existing)
                throw new IntentDataException(name, "suffix", $"suffix of '{grammar.Language}' already set in {existing.File}");
            grammar.Suffix = (name, ParseOrThrow(name, "suffix", file.Suffix), file.Suffix);
        }
        foreach (var (ruleName, text) in file.Rules ?? [])
        {
            if (!TemplateParser.IsName(ruleName))
                throw new IntentDataException(name, $"rule <{ruleName}>", "bad rule name");
            if (grammar.Rules.TryGetValue(ruleName, out var existing))
                throw new IntentDataException(name, $"rule <{ruleName}>", $"already defined in {existing.File}");
            grammar.Rules[ruleName] = (name, ParseOrThrow(name, $"rule <{ruleName}>", text));
        }
        foreach (var (listName, values) in file.Lists ?? [])
        {
            if (!TemplateParser.IsName(listName))
                throw new IntentDataException(name, $"list {listName}", "bad list name");
            if (grammar.Lists.TryGetValue(listName, out var existing))
                throw new IntentDataException(name, $"list {listName}", $"already defined in {existing.File}");
            foreach (var (value, phrases) in values)
            {
                if (phrases is not { Count: > 0 })
                    throw new IntentDataException(name, $"list {listName}", $"value '{value}' has no phrases");
                foreach (var phrase in phrases)
                    if (string.IsNullOrWhiteSpace(phrase) || !LiteralCharsOk(phrase))
                        throw new IntentDataException(name, $"list {listName}", $"phrase '{phrase}' has characters the normalizer removes");
            }
            grammar.Lists[listName] = (name, values);
        }
    }

    private static SequenceNode ParseOrThrow(string file, string entry, string text)
    {
        try
        {
            return TemplateParser.Parse(text);
        }
        catch (TemplateSyntaxException ex)
        {
            throw new IntentDataException(file, entry, $"\"{text}\": {ex.Message}", ex);
        }
    }

    private static KeyValuePair<string, JsonNode>[] FixedSlots(string file, TemplateEntry template, ActionDefinition action)
    {
        var result = new List<KeyValuePair<string, JsonNode>>();
        foreach (var (parameter, element) in template.Slots ?? [])
        {
            var definition = action.FindParameter(parameter)
                             ?? throw new IntentDataException(file, template.Id, $"slot '{parameter}' is not a parameter of {action.Name}");
            JsonNode value;
            switch (definition.Type)
            {
                case ParameterType.Integer or ParameterType.Number:
                {
                    if (element.ValueKind != JsonValueKind.Number)
                        throw new IntentDataException(file, template.Id, $"slot '{parameter}' must be a number");
                    var number = element.GetDouble();
                    if (definition.Type == ParameterType.Integer && number != Math.Floor(number))
                        throw new IntentDataException(file, template.Id, $"slot '{parameter}' must be a whole number");
                    if (number < definition.Minimum || number > definition.Maximum)
                        throw new IntentDataException(file, template.Id, string.Create(CultureInfo.InvariantCulture,
                            $"slot '{parameter}' = {number} outside {definition.Minimum}..{definition.Maximum}"));
                    value = definition.Type == ParameterType.Integer ? JsonValue.Create((long)number) : JsonValue.Create(number);
                    break;
                }
                case ParameterType.Boolean:
                    if (element.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                        throw new IntentDataException(file, template.Id, $"slot '{parameter}' must be true or false");
                    value = JsonValue.Create(element.GetBoolean());
                    break;
                default:
                {
                    if (element.ValueKind != JsonValueKind.String)
                        throw new IntentDataException(file, template.Id, $"slot '{parameter}' must be a string");
                    var s = element.GetString()!;
                    if (definition.Span)
                        throw new IntentDataException(file, template.Id, $"slot '{parameter}' is a span: it must come from the utterance");
                    if (definition.Enum is { } allowed && !allowed.Contains(s))
                        throw new IntentDataException(file, template.Id, $"slot '{parameter}' = '{s}' is not one of {string.Join("|", allowed)}");
                    value = JsonValue.Create(s);
                    break;
                }
            }
            result.Add(new KeyValuePair<string, JsonNode>(parameter, value));
        }
        return result.ToArray();
    }

    private static CompiledTemplate CompileSentence(string file, string entry, string sentence, LanguageGrammar grammar,
        ActionDefinition action, KeyValuePair<string, JsonNode>[] fixedSlots, double confidence, RegexOptions options,
        IReadOnlyList<string> skipWords)
    {
        var body = ParseOrThrow(file, entry, sentence);
        var emitter = new Emitter(file, entry, grammar, action, skipWords);
        var pattern = new StringBuilder("^");
        if (grammar.Prefix is { } prefix)
        {
            pattern.Append("(?:");
            new Emitter(prefix.File, "prefix", grammar, null, skipWords).Emit(prefix.Node, pattern);
            pattern.Append(" ?)*");
        }
        emitter.Emit(body, pattern);
        if (grammar.Suffix is { } suffix)
        {
            pattern.Append("(?: ?");
            new Emitter(suffix.File, "suffix", grammar, null, skipWords).Emit(suffix.Node, pattern);
            pattern.Append(")*");
        }
        pattern.Append(@"\z");

        foreach (var (name, _) in fixedSlots)
            if (emitter.Slots.ContainsKey(name))
                throw new IntentDataException(file, entry, $"parameter '{name}' is both a slot in the sentence and a fixed slot");
        foreach (var p in action.Parameters)
            if (p.Required && !emitter.Slots.ContainsKey(p.Name) && !Array.Exists(fixedSlots, f => f.Key == p.Name))
                throw new IntentDataException(file, entry, $"required parameter '{p.Name}' of {action.Name} is never filled");

        Regex regex;
        try
        {
            regex = new Regex(pattern.ToString(), options, MatchTimeout);
        }
        catch (ArgumentException ex)
        {
            throw new IntentDataException(file, entry, $"does not compile: {ex.Message}", ex);
        }

        var prefilter = new Prefilter(grammar, skipWords).Required(body);
        prefilter.Sort((a, b) => MinLength(b).CompareTo(MinLength(a)));
        if (prefilter.Count > 2) prefilter.RemoveRange(2, prefilter.Count - 2);

        return new CompiledTemplate
        {
            Id = entry,
            Sentence = sentence,
            Language = grammar.Language,
            File = file,
            Action = action,
            Regex = regex,
            Slots = [.. emitter.Slots.Values],
            FixedSlots = fixedSlots,
            Confidence = confidence,
            Prefilter = [.. prefilter],
            SpanStopWords = grammar.SpanStopWords,
        };
    }

    private static int MinLength(string[] words)
    {
        var min = int.MaxValue;
        foreach (var w in words) min = Math.Min(min, w.Length);
        return min;
    }

    /// <summary>
    /// A template literal with the skip words removed, exactly as the normalizer removes them from utterances
    /// (Chinese anywhere, Latin as whole words), so <c>[一下]</c> in a template is harmless.
    /// </summary>
    private static string RemoveSkipWords(string folded, IReadOnlyList<string> skipWords)
    {
        foreach (var word in skipWords)
        {
            var w = word.Trim().ToLowerInvariant();
            if (w.Length == 0) continue;
            if (LanguageDetector.IsCjk(w[0]))
            {
                folded = folded.Replace(w, "", StringComparison.Ordinal);
            }
            else
            {
                var tokens = folded.Split(' ');
                if (Array.IndexOf(tokens, w) >= 0)
                    folded = string.Join(' ', Array.FindAll(tokens, t => t != w));
            }
        }
        return folded;
    }

    internal static bool LiteralCharsOk(string text)
    {
        foreach (var c in text)
            if (!(char.IsLetterOrDigit(c) || LanguageDetector.IsCjk(c) || c is ' ' or '\'' or '-' or '%' or '&' or '.'))
                return false;
        return true;
    }

    /// <summary>Writes the regex for a template tree and records the slots it fills.</summary>
    private sealed class Emitter(string file, string entry, LanguageGrammar grammar, ActionDefinition? action,
        IReadOnlyList<string> skipWords)
    {
        private readonly Stack<string> _ruleStack = new();
        public Dictionary<string, SlotPlan> Slots { get; } = new(StringComparer.Ordinal);

        public void Emit(TemplateNode node, StringBuilder sb)
        {
            switch (node)
            {
                case SequenceNode seq:
                    foreach (var item in seq.Items) Emit(item, sb);
                    break;
                case LiteralNode literal:
                    if (!LiteralCharsOk(literal.Text))
                        throw new IntentDataException(file, entry, $"'{literal.Text}' has characters the normalizer removes (punctuation)");
                    EmitLiteral(RemoveSkipWords(TemplateNormalizer.FoldLiteral(literal.Text), skipWords), sb);
                    break;
                case AlternativesNode alternatives:
                    sb.Append("(?:");
                    for (var i = 0; i < alternatives.Alternatives.Count; i++)
                    {
                        if (i > 0) sb.Append('|');
                        Emit(alternatives.Alternatives[i], sb);
                    }
                    sb.Append(alternatives.Optional ? ")?" : ")");
                    break;
                case RuleNode rule:
                    if (!grammar.Rules.TryGetValue(rule.Name, out var definition))
                        throw new IntentDataException(file, entry, $"unknown rule <{rule.Name}>");
                    if (_ruleStack.Contains(rule.Name))
                        throw new IntentDataException(file, entry, $"rule <{rule.Name}> refers to itself");
                    _ruleStack.Push(rule.Name);
                    Emit(definition.Node, sb);
                    _ruleStack.Pop();
                    break;
                case SlotNode slot:
                    EmitSlot(slot, sb);
                    break;
            }
        }

        private void EmitSlot(SlotNode slot, StringBuilder sb)
        {
            if (action is null)
                throw new IntentDataException(file, entry, $"slot {{{slot.Parameter}}} is not allowed here");
            var parameter = action.FindParameter(slot.Parameter)
                            ?? throw new IntentDataException(file, entry, $"slot {{{slot.Parameter}}}: {action.Name} has no parameter '{slot.Parameter}'");
            var group = "s_" + slot.Parameter;
            SlotPlan plan;
            if (grammar.Lists.TryGetValue(slot.Source, out var list))
            {
                if (slot.Negate)
                    throw new IntentDataException(file, entry, $"slot {{-{slot.Source}}}: only numbers can be negated");
                if (parameter.Enum is null)
                    throw new IntentDataException(file, entry, $"list {slot.Source} fills {action.Name}.{parameter.Name}, which has no enum");
                var phrases = new Dictionary<string, string>(StringComparer.Ordinal);
                var ordered = new List<string>();
                foreach (var (value, words) in list.Values)
                {
                    if (!parameter.Enum.Contains(value))
                        throw new IntentDataException(file, entry, $"list {slot.Source} has value '{value}', not allowed for {action.Name}.{parameter.Name} ({string.Join("|", parameter.Enum)})");
                    foreach (var word in words)
                    {
                        var folded = RemoveSkipWords(TemplateNormalizer.FoldLiteral(word.Trim()), skipWords);
                        if (folded.Trim().Length == 0)
                            throw new IntentDataException(list.File, $"list {slot.Source}", $"phrase '{word}' is only skip words");
                        var key = folded.Replace(" ", "", StringComparison.Ordinal);
                        if (phrases.TryGetValue(key, out var other) && other != value)
                            throw new IntentDataException(list.File, $"list {slot.Source}", $"phrase '{word}' means both '{other}' and '{value}'");
                        phrases[key] = value;
                        ordered.Add(folded);
                    }
                }
                // Longest first: 主驾驶 before 主驾, so the longer phrase is taken whole.
                ordered.Sort((a, b) => b.Length.CompareTo(a.Length));
                sb.Append("(?<").Append(group).Append('>');
                for (var i = 0; i < ordered.Count; i++)
                {
                    if (i > 0) sb.Append('|');
                    EmitLiteral(ordered[i], sb);
                }
                sb.Append(')');
                plan = new SlotPlan(parameter.Name, SlotKind.List, parameter, group) { Phrases = phrases, ListName = slot.Source };
            }
            else if (slot.Source != slot.Parameter)
            {
                throw new IntentDataException(file, entry, $"slot {{{slot.Source}:{slot.Parameter}}}: unknown list '{slot.Source}'");
            }
            else if (parameter.Type is ParameterType.Integer or ParameterType.Number)
            {
                var decimalDegree = string.Equals(parameter.Unit, "celsius", StringComparison.Ordinal);
                sb.Append("(?<").Append(group).Append('>').Append(NumberParser.Pattern(decimalDegree)).Append(')');
                plan = new SlotPlan(parameter.Name, SlotKind.Number, parameter, group) { Negate = slot.Negate };
            }
            else if (parameter.Span)
            {
                if (slot.Negate)
                    throw new IntentDataException(file, entry, $"slot {{-{slot.Parameter}}}: only numbers can be negated");
                sb.Append("(?<").Append(group).Append(">.+?)");
                plan = new SlotPlan(parameter.Name, SlotKind.Span, parameter, group);
            }
            else
            {
                throw new IntentDataException(file, entry, $"slot {{{slot.Parameter}}}: {action.Name}.{slot.Parameter} is an enum; name a list ({{list:{slot.Parameter}}})");
            }

            if (Slots.TryGetValue(parameter.Name, out var existing))
            {
                if (existing.Kind != plan.Kind || existing.ListName != plan.ListName || existing.Negate != plan.Negate)
                    throw new IntentDataException(file, entry, $"parameter '{parameter.Name}' is filled in two different ways");
                return;
            }
            Slots[parameter.Name] = plan;
        }

        /// <summary>
        /// A literal: spaces are optional (the normalizer drops them next to Chinese), and Latin words must
        /// stand alone, so "by" never matches inside "standby".
        /// </summary>
        private static void EmitLiteral(string text, StringBuilder sb)
        {
            for (var i = 0; i < text.Length; i++)
            {
                var c = text[i];
                if (c == ' ')
                {
                    if (i == 0 || text[i - 1] != ' ') sb.Append(" ?");
                    continue;
                }
                var alnum = TemplateNormalizer.IsAsciiAlnum(c);
                if (alnum && (i == 0 || !TemplateNormalizer.IsAsciiAlnum(text[i - 1]))) sb.Append("(?<![a-z0-9])");
                sb.Append(Regex.Escape(c.ToString()));
                if (alnum && (i == text.Length - 1 || !TemplateNormalizer.IsAsciiAlnum(text[i + 1]))) sb.Append("(?![a-z0-9])");
            }
        }
    }

    /// <summary>Works out which words every match of a template must contain.</summary>
    private sealed class Prefilter(LanguageGrammar grammar, IReadOnlyList<string> skipWords)
    {
        public List<string[]> Required(TemplateNode node)
        {
            var sets = new List<string[]>();
            Collect(node, sets, depth: 0);
            return sets;
        }

        private void Collect(TemplateNode node, List<string[]> sets, int depth)
        {
            if (depth > 16) return;
            switch (node)
            {
                case SequenceNode seq:
                    foreach (var item in seq.Items) Collect(item, sets, depth + 1);
                    break;
                case LiteralNode literal:
                    foreach (var word in RemoveSkipWords(TemplateNormalizer.FoldLiteral(literal.Text), skipWords)
                                 .Split(' ', StringSplitOptions.RemoveEmptyEntries))
                        sets.Add([word]);
                    break;
                case AlternativesNode { Optional: false } alternatives:
                {
                    var union = new List<string>();
                    foreach (var alternative in alternatives.Alternatives)
                    {
                        var inner = new List<string[]>();
                        Collect(alternative, inner, depth + 1);
                        if (inner.Count == 0) return; // one alternative needs no literal: nothing is required
                        string[]? best = null;
                        foreach (var set in inner)
                            if (best is null || MinLength(set) > MinLength(best)) best = set;
                        union.AddRange(best!);
                    }
                    sets.Add([.. union.Distinct(StringComparer.Ordinal)]);
                    break;
                }
                case RuleNode rule when grammar.Rules.TryGetValue(rule.Name, out var definition):
                    Collect(definition.Node, sets, depth + 1);
                    break;
                case SlotNode slot when grammar.Lists.TryGetValue(slot.Source, out var list):
                {
                    var words = new List<string>();
                    foreach (var phrases in list.Values.Values)
                        foreach (var phrase in phrases)
                        {
                            var first = RemoveSkipWords(TemplateNormalizer.FoldLiteral(phrase.Trim()), skipWords)
                                .Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
                            words.Add(first);
                        }
                    sets.Add([.. words.Distinct(StringComparer.Ordinal)]);
                    break;
                }
            }
        }
    }
}
