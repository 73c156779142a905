using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using NJsonSchema;

namespace CabinAgent.Actions;

/// <summary>
/// The JSON Schema of a command, generated from the catalog. Every command is validated
/// against it before anything is published, whichever tier produced it.
/// </summary>
public sealed class CommandSchema
{
    private readonly JsonSchema _envelope;
    private readonly Dictionary<string, JsonSchema> _parametersByAction;

    private CommandSchema(JsonObject document, JsonSchema envelope, Dictionary<string, JsonSchema> parametersByAction)
    {
        Document = document;
        _envelope = envelope;
        _parametersByAction = parametersByAction;
    }

    /// <summary>The whole schema (one <c>oneOf</c> branch per action), as JSON.</summary>
    public JsonObject Document { get; }

    public string ToJson(bool indented = true) =>
        Document.ToJsonString(new JsonSerializerOptions(CommandJson.Options) { WriteIndented = indented });

    public static CommandSchema FromCatalog(ActionCatalog catalog)
    {
        var branches = new JsonArray();
        var parameterSchemas = new Dictionary<string, JsonSchema>(StringComparer.Ordinal);
        foreach (var action in catalog.Actions)
        {
            var parameters = ParametersSchema(action);
            parameterSchemas[action.Name] = JsonSchema.FromJsonAsync(parameters.ToJsonString()).GetAwaiter().GetResult();
            branches.Add(new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["action"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray(action.Name) },
                    ["parameters"] = parameters,
                },
            });
        }

        var envelope = Envelope(catalog);
        var document = Envelope(catalog);
        document["$schema"] = "http://json-schema.org/draft-07/schema#";
        document["title"] = "CabinAgent vehicle command";
        document["oneOf"] = branches;

        var envelopeSchema = JsonSchema.FromJsonAsync(envelope.ToJsonString()).GetAwaiter().GetResult();
        return new CommandSchema(document, envelopeSchema, parameterSchemas);
    }

    /// <summary>The schema of one action's <c>parameters</c> object.</summary>
    public static JsonObject ParametersSchema(ActionDefinition action)
    {
        var properties = new JsonObject();
        var required = new JsonArray();
        foreach (var p in action.Parameters)
        {
            var property = new JsonObject
            {
                ["type"] = p.Type switch
                {
                    ParameterType.Integer => "integer",
                    ParameterType.Number => "number",
                    ParameterType.Boolean => "boolean",
                    _ => "string",
                },
            };
            if (p.Enum is not null)
                property["enum"] = new JsonArray(p.Enum.Select(v => (JsonNode)JsonValue.Create(v)!).ToArray());
            if (p.Minimum is { } min) property["minimum"] = min;
            if (p.Maximum is { } max) property["maximum"] = max;
            if (p.Type == ParameterType.String && p.Enum is null)
            {
                property["minLength"] = 1;
                property["maxLength"] = p.MaxLength ?? 100;
            }
            if (p.Description.Length > 0) property["description"] = p.Description;
            properties[p.Name] = property;
            if (p.Required) required.Add(p.Name);
        }
        return new JsonObject
        {
            ["type"] = "object",
            ["properties"] = properties,
            ["required"] = required,
            ["additionalProperties"] = false,
        };
    }

    private static JsonObject Envelope(ActionCatalog catalog) => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["action"] = new JsonObject
            {
                ["type"] = "string",
                ["enum"] = new JsonArray(catalog.Actions.Select(a => (JsonNode)JsonValue.Create(a.Name)!).ToArray()),
            },
            ["parameters"] = new JsonObject { ["type"] = "object" },
            ["response"] = new JsonObject { ["type"] = "string", ["maxLength"] = 500 },
            ["confidence"] = new JsonObject { ["type"] = "number", ["minimum"] = 0, ["maximum"] = 1 },
            ["requires_confirmation"] = new JsonObject { ["type"] = "boolean" },
        },
        ["required"] = new JsonArray("action", "parameters", "response", "confidence", "requires_confirmation"),
        ["additionalProperties"] = false,
    };

    /// <summary>Validates a command; returns the reasons it is invalid (empty when valid).</summary>
    public IReadOnlyList<string> Validate(VehicleCommand command) => Validate(command.ToJson());

    /// <summary>Validates raw JSON text (e.g. a model's output); returns the reasons it is invalid.</summary>
    public IReadOnlyList<string> Validate(string json)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json);
        }
        catch (JsonException ex)
        {
            return [$"not valid JSON: {ex.Message}"];
        }
        var errors = _envelope.Validate(json).Select(Describe).ToList();
        if (errors.Count > 0 || node is not JsonObject obj)
            return errors.Count > 0 ? errors : ["not a JSON object"];

        var action = obj["action"]!.GetValue<string>();
        var parameters = obj["parameters"]!.ToJsonString();
        return _parametersByAction[action].Validate(parameters)
            .Select(e => $"parameters: {Describe(e)}").ToList();
    }

    private static string Describe(NJsonSchema.Validation.ValidationError error)
    {
        var where = string.IsNullOrEmpty(error.Path) ? "#/" + error.Property : error.Path;
        return string.Create(CultureInfo.InvariantCulture, $"{where}: {error.Kind}");
    }
}
