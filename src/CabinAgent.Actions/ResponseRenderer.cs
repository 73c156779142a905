using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace CabinAgent.Actions;

/// <summary>
/// Fills an action's response template from its parameters. Templates come from the catalog, so a
/// model never writes what the agent says.
/// <para>Syntax: <c>{name}</c> inserts a parameter; <c>{name?text with {name}}</c> inserts the text only when the
/// parameter is present. Enum values are spoken through the catalog's labels when it has them.</para>
/// </summary>
public static class ResponseRenderer
{
    public static string Render(ActionCatalog catalog, ActionDefinition action, JsonObject parameters, string lang)
    {
        if (!action.Responses.TryGetValue(lang, out var template))
            template = action.Responses["zh"];
        return Expand(catalog, template, parameters, lang);
    }

    private static string Expand(ActionCatalog catalog, string template, JsonObject parameters, string lang)
    {
        var output = new StringBuilder(template.Length + 16);
        for (var i = 0; i < template.Length; i++)
        {
            if (template[i] != '{')
            {
                output.Append(template[i]);
                continue;
            }
            var close = MatchingBrace(template, i);
            var body = template[(i + 1)..close];
            var question = body.IndexOf('?');
            if (question >= 0)
            {
                var name = body[..question];
                if (parameters[name] is not null)
                    output.Append(Expand(catalog, body[(question + 1)..], parameters, lang));
            }
            else
            {
                output.Append(Format(catalog, parameters[body], lang));
            }
            i = close;
        }
        return output.ToString();
    }

    private static int MatchingBrace(string s, int open)
    {
        var depth = 0;
        for (var i = open; i < s.Length; i++)
        {
            if (s[i] == '{') depth++;
            else if (s[i] == '}' && --depth == 0) return i;
        }
        throw new CatalogException($"unbalanced braces in response template '{s}'");
    }

    private static string Format(ActionCatalog catalog, JsonNode? value, string lang)
    {
        if (value is null) return "";
        if (value is JsonValue v)
        {
            if (v.TryGetValue<string>(out var s)) return catalog.Speak(s, lang);
            if (v.TryGetValue<double>(out var d)) return d.ToString("0.##", CultureInfo.InvariantCulture);
            if (v.TryGetValue<bool>(out var b)) return b ? "on" : "off";
        }
        return value.ToJsonString();
    }
}

