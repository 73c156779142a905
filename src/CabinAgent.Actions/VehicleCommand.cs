using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace CabinAgent.Actions;

/// <summary>
/// The command format of the seed documents:
/// <c>{"action", "parameters", "response", "confidence", "requires_confirmation"}</c>.
/// </summary>
public sealed record VehicleCommand
{
    [JsonPropertyName("action")] public required string Action { get; init; }
    [JsonPropertyName("parameters")] public required JsonObject Parameters { get; init; }
    [JsonPropertyName("response")] public required string Response { get; init; }
    [JsonPropertyName("confidence")] public required double Confidence { get; init; }
    [JsonPropertyName("requires_confirmation")] public required bool RequiresConfirmation { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, CommandJson.Options);

    public JsonObject ToJsonObject() => (JsonObject)JsonSerializer.SerializeToNode(this, CommandJson.Options)!;
}

public static class CommandJson
{
    /// <summary>Compact, UTF-8 friendly (Chinese is written as is, not \u-escaped).</summary>
    public static readonly JsonSerializerOptions Options = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = false,
    };
}
