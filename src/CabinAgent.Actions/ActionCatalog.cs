using System.Text.Json;
using System.Text.Json.Serialization;

namespace CabinAgent.Actions;

/// <summary>
/// Every action the agent may emit, loaded from <c>config/actions.json</c>.
/// Code never names an action; it asks the catalog.
/// </summary>
public sealed class ActionCatalog
{
    private readonly Dictionary<string, ActionDefinition> _byName;

    public ActionCatalog(string vehicleTopicPrefix, IReadOnlyList<ActionDefinition> actions,
        IReadOnlyDictionary<string, Dictionary<string, string>>? labels = null,
        IReadOnlyDictionary<string, Dictionary<string, string>>? messages = null)
    {
        Messages = messages ?? new Dictionary<string, Dictionary<string, string>>();
        TopicPrefix = vehicleTopicPrefix;
        Actions = actions;
        Labels = labels ?? new Dictionary<string, Dictionary<string, string>>();
        _byName = new Dictionary<string, ActionDefinition>(StringComparer.Ordinal);
        foreach (var action in actions)
        {
            if (!_byName.TryAdd(action.Name, action))
                throw new CatalogException($"action '{action.Name}' is defined twice");
        }
    }

    /// <summary>Topic prefix template; <c>{vehicle_id}</c> is replaced by the configured vehicle id.</summary>
    public string TopicPrefix { get; }

    public IReadOnlyList<ActionDefinition> Actions { get; }

    /// <summary>How enum values are spoken: value → language → words (<c>gas_station</c> → 加油站).</summary>
    public IReadOnlyDictionary<string, Dictionary<string, string>> Labels { get; }

    /// <summary>What the agent says when there is no command: key (<c>not_understood</c>, …) → language → text.</summary>
    public IReadOnlyDictionary<string, Dictionary<string, string>> Messages { get; }

    /// <summary>Keys every catalog must define in <c>messages</c>.</summary>
    public static readonly IReadOnlyList<string> RequiredMessages = ["not_understood", "rejected", "busy", "error", "queued", "dropped", "action_failed"];

    public string Message(string key, string lang) =>
        Messages.TryGetValue(key, out var byLang) && (byLang.TryGetValue(lang, out var text) || byLang.TryGetValue("zh", out text))
            ? text
            : throw new CatalogException($"message '{key}' is not in the catalog");

    public string Speak(string value, string lang) =>
        Labels.TryGetValue(value, out var byLang) && byLang.TryGetValue(lang, out var words) ? words : value;

    public bool TryGet(string name, out ActionDefinition action) => _byName.TryGetValue(name, out action!);

    public ActionDefinition Get(string name) =>
        _byName.TryGetValue(name, out var action) ? action : throw new CatalogException($"unknown action '{name}'");

    public static ActionCatalog Load(string path)
    {
        if (!File.Exists(path))
            throw new CatalogException($"action catalog not found: {path}");
        using var stream = File.OpenRead(path);
        return Parse(stream, path);
    }

    public static ActionCatalog Parse(Stream json, string sourceName = "catalog")
    {
        CatalogFile? file;
        try
        {
            file = JsonSerializer.Deserialize(json, CatalogJsonContext.Default.CatalogFile);
        }
        catch (JsonException ex)
        {
            throw new CatalogException($"{sourceName}: invalid JSON: {ex.Message}", ex);
        }
        if (file is null || file.Actions is null || file.Actions.Count == 0)
            throw new CatalogException($"{sourceName}: no actions defined");
        foreach (var action in file.Actions)
            action.Validate();
        foreach (var key in RequiredMessages)
        {
            if (file.Messages is null || !file.Messages.TryGetValue(key, out var byLang) || !byLang.ContainsKey("zh") || !byLang.ContainsKey("en"))
                throw new CatalogException($"{sourceName}: messages.{key} needs both 'zh' and 'en'");
        }
        return new ActionCatalog(file.TopicPrefix ?? "vehicle/{vehicle_id}", file.Actions, file.Labels, file.Messages);
    }
}

public sealed class CatalogException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The categories the seed documents measure accuracy by.</summary>
public static class ActionCategories
{
    public const string Music = "music";
    public const string Navigation = "navigation";
    public const string VehicleControl = "vehicle_control";
    public const string StatusQuery = "status_query";
    public const string Safety = "safety";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal)
        { Music, Navigation, VehicleControl, StatusQuery, Safety };
}

public sealed class ActionDefinition
{
    public required string Name { get; init; }
    public required string Category { get; init; }
    public string Description { get; set; } = "";

    /// <summary>Topic suffix below the vehicle prefix, e.g. <c>cmd/media</c>. One topic per domain.</summary>
    public required string Topic { get; init; }

    public IReadOnlyList<ParameterDefinition> Parameters { get; set; } = [];

    /// <summary>Spoken response templates by language; <c>{param}</c> placeholders are filled from parameters.</summary>
    public required IReadOnlyDictionary<string, string> Responses { get; init; }

    public bool RequiresConfirmation { get; init; }

    public ParameterDefinition? FindParameter(string name)
    {
        foreach (var p in Parameters)
            if (p.Name == name) return p;
        return null;
    }

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Name) || !Name.All(c => c is >= 'A' and <= 'Z' or '_' or >= '0' and <= '9'))
            throw new CatalogException($"action name '{Name}' must be UPPER_SNAKE_CASE");
        if (!ActionCategories.All.Contains(Category))
            throw new CatalogException($"action {Name}: unknown category '{Category}'");
        if (string.IsNullOrWhiteSpace(Topic) || Topic.Contains('+') || Topic.Contains('#') || Topic.StartsWith('/'))
            throw new CatalogException($"action {Name}: topic '{Topic}' must be a plain relative topic");
        if (!Responses.ContainsKey("zh") || !Responses.ContainsKey("en"))
            throw new CatalogException($"action {Name}: responses need both 'zh' and 'en'");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in Parameters)
        {
            if (!seen.Add(p.Name))
                throw new CatalogException($"action {Name}: parameter '{p.Name}' is defined twice");
            p.Validate(Name);
        }
    }
}

[JsonConverter(typeof(JsonStringEnumConverter<ParameterType>))]
public enum ParameterType
{
    [JsonStringEnumMemberName("string")] String,
    [JsonStringEnumMemberName("integer")] Integer,
    [JsonStringEnumMemberName("number")] Number,
    [JsonStringEnumMemberName("boolean")] Boolean,
}

public sealed class ParameterDefinition
{
    public required string Name { get; init; }
    public required ParameterType Type { get; init; }
    public bool Required { get; init; }
    public IReadOnlyList<string>? Enum { get; init; }
    public double? Minimum { get; init; }
    public double? Maximum { get; init; }
    public string? Unit { get; init; }
    public int? MaxLength { get; init; }

    /// <summary>
    /// True for free-text values taken from the driver's words (artist, destination, contact):
    /// a generator may only copy a span of the utterance here, never invent one.
    /// </summary>
    public bool Span { get; init; }

    public string Description { get; set; } = "";

    internal void Validate(string action)
    {
        if (string.IsNullOrWhiteSpace(Name))
            throw new CatalogException($"action {action}: a parameter has no name");
        if (Enum is { Count: 0 })
            throw new CatalogException($"action {action}.{Name}: empty enum");
        if (Enum is not null && Type != ParameterType.String)
            throw new CatalogException($"action {action}.{Name}: enum needs type string");
        if ((Minimum is not null || Maximum is not null) && Type is not (ParameterType.Integer or ParameterType.Number))
            throw new CatalogException($"action {action}.{Name}: a range needs a numeric type");
        if (Minimum > Maximum)
            throw new CatalogException($"action {action}.{Name}: minimum above maximum");
        if (Span && (Type != ParameterType.String || Enum is not null))
            throw new CatalogException($"action {action}.{Name}: a span parameter must be a free string");
    }
}

internal sealed class CatalogFile
{
    public string? TopicPrefix { get; init; }
    public List<ActionDefinition>? Actions { get; init; }
    public Dictionary<string, Dictionary<string, string>>? Labels { get; init; }
    public Dictionary<string, Dictionary<string, string>>? Messages { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(CatalogFile))]
internal sealed partial class CatalogJsonContext : JsonSerializerContext;
