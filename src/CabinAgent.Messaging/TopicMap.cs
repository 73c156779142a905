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

    /// <summary>
    /// Every domain's acknowledgement topic, for the agent's one subscription. Each domain acks on its own topic
    /// (<see cref="AckFor"/>) so the broker's ACL can let only that domain's ECU write it.
    /// </summary>
    public string AckFilter => Prefix + "agent/ack/#";

    /// <summary>
    /// Where the ECU of a command's domain acknowledges it: <c>cmd/climate</c> → <c>agent/ack/climate</c>.
    /// Derived from the command topic alone (which came from the catalog), so a command queued before a restart
    /// still gets its domain's ack topic.
    /// </summary>
    public string AckFor(string commandTopic)
    {
        var relative = commandTopic.StartsWith(Prefix, StringComparison.Ordinal) ? commandTopic[Prefix.Length..] : commandTopic;
        return Prefix + "agent/ack/" + (relative.StartsWith("cmd/", StringComparison.Ordinal) ? relative["cmd/".Length..] : relative);
    }

    /// <summary>Raw PCM from the cockpit's microphones, for the speech front (<c>Speech:Input:Kind</c> <c>mqtt</c>).</summary>
    public string AudioIn => Prefix + "audio/in";

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
