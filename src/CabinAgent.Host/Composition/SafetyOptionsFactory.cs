using System.Globalization;
using System.Text.Json.Nodes;
using CabinAgent.Pipeline;
using CabinAgent.Safety;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace CabinAgent.Host.Composition;

/// <summary>
/// The safety rules as options: <c>safety.json</c> from the agent's config folder with the configuration's
/// <c>Safety</c> section laid over it, so <c>CABIN_Safety__alerts__overspeed__tolerance_kmh=8</c> (or a <c>Safety</c>
/// block in a <c>--config</c> file) changes a safety setting like any other setting. The file keeps its snake_case
/// names and its strict reader, so a misspelt key is an error instead of a setting silently ignored; that is why this
/// is a factory and not a plain <c>Bind</c>, which would skip unknown keys. The language of alerts before the driver has
/// spoken is <c>Agent:DefaultLang</c>, the one default language of the agent.
/// </summary>
internal sealed class SafetyOptionsFactory(
    IConfiguration configuration,
    IOptions<AgentOptions> agent,
    IOptions<PipelineOptions> pipeline,
    IEnumerable<IConfigureOptions<SafetyOptions>> setups,
    IEnumerable<IPostConfigureOptions<SafetyOptions>> postConfigures,
    IEnumerable<IValidateOptions<SafetyOptions>> validations)
    : OptionsFactory<SafetyOptions>(setups, postConfigures, validations)
{
    public const string Section = "Safety";

    private const string DefaultLangKey = "default_lang";

    protected override SafetyOptions CreateInstance(string name)
    {
        var path = agent.Value.ResolveConfigPath(SafetyModule.OptionsFile);
        if (!File.Exists(path))
            throw new SafetyConfigException($"safety config not found: {path}");
        JsonObject root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path), documentOptions: new() { CommentHandling = System.Text.Json.JsonCommentHandling.Skip, AllowTrailingCommas = true })
                   as JsonObject ?? throw new SafetyConfigException($"{path}: not a JSON object");
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new SafetyConfigException($"{path}: invalid JSON: {ex.Message}", ex);
        }
        foreach (var (key, value) in configuration.GetSection(Section).AsEnumerable(makePathsRelative: true))
        {
            if (value is not null)
                Overlay(root, key.Split(ConfigurationPath.KeyDelimiter), value);
        }
        if (root.Any(p => string.Equals(p.Key, DefaultLangKey, StringComparison.OrdinalIgnoreCase)))
            throw new SafetyConfigException($"{Section}:{DefaultLangKey} ({path}): the default language is Agent:DefaultLang; remove it here");
        root[DefaultLangKey] = pipeline.Value.DefaultLang;
        return SafetyOptions.FromJson(root, $"{path} with the {Section} section");
    }

    /// <summary>Sets one configuration value at its path, keeping the JSON type of the value it replaces.</summary>
    private static void Overlay(JsonObject root, string[] path, string value)
    {
        JsonNode parent = root;
        for (var i = 0; i < path.Length; i++)
        {
            var existing = Child(parent, path[i], out var key);
            if (i == path.Length - 1)
            {
                Put(parent, key, Typed(value, existing));
                return;
            }
            if (existing is null)
            {
                existing = int.TryParse(path[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out _) ? new JsonArray() : new JsonObject();
                Put(parent, key, existing);
            }
            parent = existing;
        }
    }

    /// <summary>The child named <paramref name="name"/> (configuration keys are case-insensitive), and the key to write it under.</summary>
    private static JsonNode? Child(JsonNode parent, string name, out string key)
    {
        key = name;
        if (parent is JsonArray array)
            return int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < array.Count ? array[index] : null;
        foreach (var (existingKey, node) in parent.AsObject())
        {
            if (!string.Equals(existingKey, name, StringComparison.OrdinalIgnoreCase)) continue;
            key = existingKey;
            return node;
        }
        return null;
    }

    private static void Put(JsonNode parent, string key, JsonNode node)
    {
        if (parent is JsonObject obj)
        {
            obj[key] = node;
            return;
        }
        var array = (JsonArray)parent;
        if (!int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            throw new SafetyConfigException($"{Section}: '{key}' is not an index of a list");
        if (index < array.Count) array[index] = node;
        else array.Add(node);
    }

    /// <summary>
    /// Configuration values are text: a value replacing a number or a boolean becomes one (and stays text when it does
    /// not parse, so the reader names the key); a new one is a number or boolean when it reads as one.
    /// </summary>
    private static JsonNode Typed(string value, JsonNode? replaced)
    {
        var kind = replaced?.GetValueKind();
        var asNumber = decimal.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number);
        var asBool = bool.TryParse(value, out var flag);
        return kind switch
        {
            System.Text.Json.JsonValueKind.Number when asNumber => JsonValue.Create(number),
            System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False when asBool => JsonValue.Create(flag),
            System.Text.Json.JsonValueKind.String => JsonValue.Create(value),
            null when asNumber => JsonValue.Create(number),
            null when asBool => JsonValue.Create(flag),
            _ => JsonValue.Create(value),
        };
    }
}
