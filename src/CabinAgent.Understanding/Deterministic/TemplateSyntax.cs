using System.Text;

namespace CabinAgent.Understanding.Deterministic;

/// <summary>A parsed sentence template (see docs/intents.md for the language).</summary>
internal abstract record TemplateNode;

/// <summary>Words that must appear as written (after normalization).</summary>
internal sealed record LiteralNode(string Text) : TemplateNode;

/// <summary>Items one after the other.</summary>
internal sealed record SequenceNode(IReadOnlyList<TemplateNode> Items) : TemplateNode;

/// <summary><c>(a|b)</c> — one of the alternatives; <c>[a|b]</c> — one of them or nothing.</summary>
internal sealed record AlternativesNode(IReadOnlyList<SequenceNode> Alternatives, bool Optional) : TemplateNode;

/// <summary>
/// <c>{name}</c>, <c>{list:parameter}</c> or <c>{-parameter}</c>: a slot that fills an action parameter from a
/// list of phrases, a spoken number, or a verbatim span of the utterance.
/// </summary>
internal sealed record SlotNode(string Source, string Parameter, bool Negate) : TemplateNode;

/// <summary><c>&lt;rule&gt;</c> — a named piece of template shared by many sentences.</summary>
internal sealed record RuleNode(string Name) : TemplateNode;

public sealed class TemplateSyntaxException(string message) : Exception(message);

/// <summary>Recursive-descent parser for the template language.</summary>
internal static class TemplateParser
{
    public static SequenceNode Parse(string template)
    {
        var position = 0;
        var sequence = ParseSequence(template, ref position, closing: '\0');
        if (position < template.Length)
            throw new TemplateSyntaxException($"unexpected '{template[position]}' at column {position + 1}");
        return sequence;
    }

    private static SequenceNode ParseSequence(string t, ref int p, char closing)
    {
        var items = new List<TemplateNode>();
        var literal = new StringBuilder();
        void Flush()
        {
            if (literal.Length == 0) return;
            items.Add(new LiteralNode(literal.ToString()));
            literal.Clear();
        }

        while (p < t.Length)
        {
            var c = t[p];
            if (c == '|' || c == ')' || c == ']')
            {
                if (closing == '\0')
                    throw new TemplateSyntaxException($"'{c}' outside a group at column {p + 1}");
                break;
            }
            switch (c)
            {
                case '(' or '[':
                {
                    Flush();
                    var open = p;
                    p++;
                    var close = c == '(' ? ')' : ']';
                    var alternatives = new List<SequenceNode>();
                    while (true)
                    {
                        alternatives.Add(ParseSequence(t, ref p, close));
                        if (p >= t.Length)
                            throw new TemplateSyntaxException($"'{c}' at column {open + 1} is never closed");
                        if (t[p] == '|')
                        {
                            p++;
                            continue;
                        }
                        if (t[p] != close)
                            throw new TemplateSyntaxException($"'{c}' at column {open + 1} closed by '{t[p]}'");
                        p++;
                        break;
                    }
                    if (c == '(' && alternatives.Exists(a => a.Items.Count == 0))
                        throw new TemplateSyntaxException($"empty alternative in '(...)' at column {open + 1}; use [...] for optional words");
                    items.Add(new AlternativesNode(alternatives, Optional: c == '['));
                    break;
                }
                case '{':
                {
                    Flush();
                    var end = t.IndexOf('}', p);
                    if (end < 0) throw new TemplateSyntaxException($"'{{' at column {p + 1} is never closed");
                    items.Add(ParseSlot(t[(p + 1)..end], p));
                    p = end + 1;
                    break;
                }
                case '<':
                {
                    Flush();
                    var end = t.IndexOf('>', p);
                    if (end < 0) throw new TemplateSyntaxException($"'<' at column {p + 1} is never closed");
                    var name = t[(p + 1)..end].Trim();
                    if (!IsName(name)) throw new TemplateSyntaxException($"bad rule name '<{name}>' at column {p + 1}");
                    items.Add(new RuleNode(name));
                    p = end + 1;
                    break;
                }
                case '}' or '>':
                    throw new TemplateSyntaxException($"unmatched '{c}' at column {p + 1}");
                default:
                    literal.Append(c);
                    p++;
                    break;
            }
        }
        Flush();
        return new SequenceNode(items);
    }

    private static SlotNode ParseSlot(string body, int column)
    {
        var text = body.Trim();
        var negate = text.StartsWith('-');
        if (negate) text = text[1..];
        var colon = text.IndexOf(':');
        var source = colon < 0 ? text : text[..colon];
        var parameter = colon < 0 ? text : text[(colon + 1)..];
        if (!IsName(source) || !IsName(parameter))
            throw new TemplateSyntaxException($"bad slot '{{{body}}}' at column {column + 1}");
        return new SlotNode(source, parameter, negate);
    }

    internal static bool IsName(string s)
    {
        if (s.Length == 0) return false;
        foreach (var c in s)
            if (!(c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '_')) return false;
        return true;
    }
}
