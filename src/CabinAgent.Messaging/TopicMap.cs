using CabinAgent.Actions;

namespace CabinAgent.Messaging;

/// <summary>
/// Every topic the agent uses, built once from the catalog's prefix and the configured vehicle id.
/// Topics are never built from what the driver said: only catalog entries and configuration reach here.
/// </summary>
public sealed class TopicMap
{
    private readonly Dictionary<string, string> _actionTopics = new(StringComparer.Ordinal);

    public TopicMap(ActionCatalog catalog, string vehicleId)
    {
        if (!IsValidVehicleId(vehicleId))
            throw new ArgumentException($"vehicle id '{vehicleId}' must be 1-64 characters of [A-Za-z0-9_-]", nameof(vehicleId));
        Prefix = catalog.TopicPrefix.Replace("{vehicle_id}", vehicleId, StringComparison.Ordinal).TrimEnd('/') + "/";
        foreach (var action in catalog.Actions)
            _actionTopics[action.Name] = Prefix + action.Topic;
    }

    public string Prefix { get; }

    /// <summary>What the agent says to the driver (every outcome, spoken by the cockpit's TTS).</summary>
    public string Response => Prefix + "agent/response";

    /// <summary>Transcripts from an external ASR, for driving the agent without its own speech front.</summary>
    public string Transcript => Prefix + "agent/transcript";

    /// <summary>Retained <c>online</c>/<c>offline</c>; the broker publishes <c>offline</c> as the last will.</summary>
    public string Status => Prefix + "agent/status";

    /// <summary>Safety alerts raised from telemetry.</summary>
    public string SafetyAlert => Prefix + "safety/alert";

    /// <summary>ECU acknowledgements of commands.</summary>
    public string Ack => Prefix + "agent/ack";

    public string TelemetryFilter => Prefix + "telemetry/+";

    public string TelemetryPrefix => Prefix + "telemetry/";

    /// <summary>Every action topic (one per domain), for ECU simulators and ACLs.</summary>
    public IEnumerable<string> ActionTopics => _actionTopics.Values.Distinct(StringComparer.Ordinal);

    public string ForAction(string action) =>
        _actionTopics.TryGetValue(action, out var topic)
            ? topic
            : throw new ArgumentException($"action '{action}' is not in the catalog", nameof(action));

    public static bool IsValidVehicleId(string id) =>
        id.Length is > 0 and <= 64 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');
}
