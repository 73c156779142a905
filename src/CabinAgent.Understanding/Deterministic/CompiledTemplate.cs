using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CabinAgent.Actions;

namespace CabinAgent.Understanding.Deterministic;

internal enum SlotKind { List, Number, Span }

/// <summary>How one parameter of a template is filled from the words it matched.</summary>
internal sealed class SlotPlan(string parameter, SlotKind kind, ParameterDefinition definition, string groupName)
{
    public string Parameter { get; } = parameter;
    public SlotKind Kind { get; } = kind;
    public ParameterDefinition Definition { get; } = definition;
    public string GroupName { get; } = groupName;

    /// <summary>For list slots: spoken phrase (spaces removed) → catalog value.</summary>
    public Dictionary<string, string>? Phrases { get; init; }

    /// <summary>List name, for the explanation.</summary>
    public string? ListName { get; init; }

    /// <summary>For number slots: the spoken number is negated (调低两度 → delta −2).</summary>
    public bool Negate { get; init; }
}

/// <summary>One sentence of one template, compiled to an anchored regex plus what to do with its groups.</summary>
internal sealed class CompiledTemplate
{
    public required string Id { get; init; }
    public required string Sentence { get; init; }
    public required string Language { get; init; }
    public required string File { get; init; }
    public required ActionDefinition Action { get; init; }
    public required Regex Regex { get; init; }
    public required SlotPlan[] Slots { get; init; }
    public required KeyValuePair<string, JsonNode>[] FixedSlots { get; init; }
    public required double Confidence { get; init; }

    /// <summary>Normalized words that are never a whole span (到, to).</summary>
    public required IReadOnlySet<string> SpanStopWords { get; init; }

    /// <summary>
    /// Cheap pre-check before the regex: for each set, the text must contain at least one of its words.
    /// Built from literals every match must contain.
    /// </summary>
    public required string[][] Prefilter { get; init; }

    public bool MayMatch(string text)
    {
        foreach (var anyOf in Prefilter)
        {
            var found = false;
            foreach (var word in anyOf)
            {
                if (text.Contains(word, StringComparison.Ordinal))
                {
                    found = true;
                    break;
                }
            }
            if (!found) return false;
        }
        return true;
    }

    /// <summary>
    /// Turns a regex match into parameters. Returns null and a reason when a slot does not hold a usable value
    /// (a number out of the catalog's range, an empty or over-long span).
    /// </summary>
    /// <param name="explain">Also build the explanation and slot details (only for the winning candidate: they
    /// cost most of the allocations).</param>
    public Candidate? Extract(Match match, NormalizedText text, bool explain, out string? reason)
    {
        reason = null;
        var parameters = new JsonObject();
        var details = explain ? new JsonObject() : null;
        var explanation = explain ? new System.Text.StringBuilder() : null;
        explanation?.Append("template ").Append(Id).Append(" \"").Append(Sentence).Append('"');
        var spanChars = 0;
        var hasSpan = false;

        foreach (var slot in Slots)
        {
            var group = match.Groups[slot.GroupName];
            if (!group.Success) continue;
            var heard = group.Value;
            JsonNode value;
            string how;
            switch (slot.Kind)
            {
                case SlotKind.List:
                {
                    if (!slot.Phrases!.TryGetValue(heard.Replace(" ", "", StringComparison.Ordinal), out var listValue))
                    {
                        reason = $"{slot.Parameter}: '{heard}' is not in list {slot.ListName}";
                        return null;
                    }
                    value = JsonValue.Create(listValue);
                    how = $"list {slot.ListName}";
                    break;
                }
                case SlotKind.Number:
                {
                    if (!NumberParser.TryParse(heard, out var number, out how))
                    {
                        reason = $"{slot.Parameter}: cannot read '{heard}' as a number";
                        return null;
                    }
                    if (slot.Negate)
                    {
                        number = -number;
                        how += ", negated by the template";
                    }
                    var definition = slot.Definition;
                    if (definition.Type == ParameterType.Integer && number != Math.Floor(number))
                    {
                        reason = string.Create(CultureInfo.InvariantCulture,
                            $"{slot.Parameter} {number} is not a whole number");
                        return null;
                    }
                    if (number < definition.Minimum || number > definition.Maximum)
                    {
                        reason = string.Create(CultureInfo.InvariantCulture,
                            $"{slot.Parameter} {number} outside {definition.Minimum}..{definition.Maximum}");
                        return null;
                    }
                    value = definition.Type == ParameterType.Integer
                        ? JsonValue.Create((long)number)
                        : JsonValue.Create(number);
                    break;
                }
                default:
                {
                    var span = text.OriginalSpan(group.Index, group.Length);
                    var max = slot.Definition.MaxLength ?? 100;
                    if (span.Length == 0 || SpanStopWords.Contains(heard.Trim()))
                    {
                        reason = $"{slot.Parameter}: nothing usable heard ('{span}')";
                        return null;
                    }
                    // A span never runs across a clause break: "西单大悦城看看，导航" or "光年之外吧，要邓紫棋" is
                    // two clauses the template did not explain, so the edge is a wrong guess, not a name.
                    if (span.AsSpan().IndexOfAny(ClauseBreaks) >= 0)
                    {
                        reason = $"{slot.Parameter}: '{span}' {ClauseBreakReason}";
                        return null;
                    }
                    if (span.Length > max)
                    {
                        reason = $"{slot.Parameter}: '{span}' is longer than {max} characters";
                        return null;
                    }
                    value = JsonValue.Create(span);
                    how = "span, copied verbatim";
                    spanChars += group.Length;
                    hasSpan = true;
                    break;
                }
            }
            parameters[slot.Parameter] = value;
            if (!explain) continue;
            details![slot.Parameter] = new JsonObject { ["heard"] = heard, ["value"] = value.DeepClone(), ["how"] = how };
            explanation!.Append("; ").Append(slot.Parameter).Append("='").Append(heard).Append("' → ")
                .Append(value.ToJsonString()).Append(" (").Append(how).Append(')');
        }

        foreach (var (name, fixedValue) in FixedSlots)
        {
            parameters[name] = fixedValue.DeepClone();
            if (!explain) continue;
            details![name] = new JsonObject { ["value"] = fixedValue.DeepClone(), ["how"] = "set by the template" };
            explanation!.Append("; ").Append(name).Append('=').Append(fixedValue.ToJsonString()).Append(" (set by the template)");
        }

        foreach (var p in Action.Parameters)
        {
            if (p.Required && !parameters.ContainsKey(p.Name))
            {
                reason = $"{Action.Name}: required parameter {p.Name} not heard";
                return null;
            }
        }

        // Spans are open-ended: where a span ends is a guess the literal words around it make, so a span
        // match is never fully certain.
        var confidence = hasSpan ? Math.Round(Confidence * SpanConfidenceFactor, 4) : Confidence;
        return new Candidate(this, match, parameters, details, explanation?.ToString(), confidence, spanChars);
    }

    public const double SpanConfidenceFactor = 0.95;

    /// <summary>End of the reason given when a span is refused for containing a clause break.</summary>
    public const string ClauseBreakReason = "runs across a clause break";

    /// <summary>Punctuation that ends a clause; a span containing one is refused (titles rarely do).</summary>
    private static readonly System.Buffers.SearchValues<char> ClauseBreaks =
        System.Buffers.SearchValues.Create("，。？！；,?!;、");
}

internal sealed record Candidate(CompiledTemplate Template, Match Match, JsonObject Parameters, JsonObject? Slots,
    string? Explanation, double Confidence, int SpanChars)
{
    /// <summary>
    /// The candidate that leaves fewer characters to open spans wins (it explains more of the utterance with
    /// known words: 我要去加油站 is NAV_FIND_NEARBY, not a destination called 加油站); then higher confidence.
    /// </summary>
    public int CompareTo(Candidate other)
    {
        var bySpan = other.SpanChars.CompareTo(SpanChars);
        return bySpan != 0 ? bySpan : Confidence.CompareTo(other.Confidence);
    }

    public bool SameResult(Candidate other) =>
        Template.Action.Name == other.Template.Action.Name && JsonNode.DeepEquals(Parameters, other.Parameters);
}
