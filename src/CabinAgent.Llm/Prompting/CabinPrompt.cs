using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CabinAgent.Actions;

namespace CabinAgent.Llm.Prompting;

/// <summary>
/// The contract between the cabin-model trainer and the LLM tier: the short prompt (<c>&lt;s&gt;</c> utterance
/// <c>&lt;|zh|&gt;</c>/<c>&lt;|en|&gt;</c>, then the answer and <c>&lt;/s&gt;</c>), the answer text (the compact command JSON
/// the command grammar produces, or <see cref="NoneAction"/> for a remark that is no command), and the <c>cabin.*</c>
/// GGUF metadata keys. Both sides use this one type so a model is served exactly as it was trained.
/// </summary>
public static class CabinPrompt
{
    /// <summary>The answer for "no command"; the grammar allows it only for the cabin model.</summary>
    public const string NoneAction = "NONE";

    public const string KeyFormat = "cabin.format";
    public const string KeyActions = "cabin.actions";
    public const string KeyCatalogHash = "cabin.catalog_hash";
    public const string KeyCorpusHash = "cabin.corpus_recipe_hash";
    public const string KeyTrainingRecipe = "cabin.training_recipe";
    public const string KeyTrainingRecipeHash = "cabin.training_recipe_hash";

    /// <summary>Bump when the prompt or answer layout changes: a model of another format is not served as a cabin model.</summary>
    public const string Format = "cabin-prompt-v1";

    /// <summary>The language tokens that close the prompt: they name the reply language and start the answer.</summary>
    public static string LanguageToken(string lang) => lang == LanguageDetector.English ? "<|en|>" : "<|zh|>";

    public static readonly IReadOnlyList<string> LanguageTokens = ["<|zh|>", "<|en|>"];

    /// <summary>
    /// The answer exactly as <c>CommandGrammar</c> spells it: compact JSON, parameters in catalog order, strings
    /// unescaped beyond what JSON requires (Chinese stays Chinese).
    /// </summary>
    public static string Answer(ActionCatalog catalog, string action, JsonObject parameters)
    {
        var sb = new StringBuilder("{\"action\":\"").Append(action).Append("\",\"parameters\":{");
        if (action != NoneAction)
        {
            var first = true;
            foreach (var def in catalog.Get(action).Parameters)
            {
                if (parameters[def.Name] is not { } value) continue;
                if (!first) sb.Append(',');
                first = false;
                sb.Append('"').Append(def.Name).Append("\":").Append(Value(value));
            }
        }
        return sb.Append("}}").ToString();
    }

    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string Value(JsonNode value) => value is JsonValue v && v.TryGetValue<double>(out var d) && !v.TryGetValue<string>(out _)
        ? (v.TryGetValue<long>(out var l) ? l.ToString(CultureInfo.InvariantCulture) : d.ToString("R", CultureInfo.InvariantCulture))
        : value.ToJsonString(Relaxed);

    /// <summary>
    /// A hash of what the model's answers depend on in the catalog: action names and their parameters (name, type,
    /// enum values, ranges, span flag), in catalog order. Responses, topics and descriptions do not change an answer.
    /// </summary>
    public static string CatalogHash(ActionCatalog catalog)
    {
        var sb = new StringBuilder();
        foreach (var a in catalog.Actions)
        {
            sb.Append(a.Name).Append('(');
            foreach (var p in a.Parameters)
                sb.Append(CultureInfo.InvariantCulture, $"{p.Name}:{p.Type}:{p.Required}:{p.Span}:{p.Minimum}:{p.Maximum}:{string.Join('|', p.Enum ?? [])};");
            sb.Append(')');
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }
}
