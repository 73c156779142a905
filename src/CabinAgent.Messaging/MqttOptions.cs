using System.ComponentModel.DataAnnotations;

namespace CabinAgent.Messaging;

/// <summary>Broker connection, bound from the <c>Mqtt</c> configuration section and validated at start-up.</summary>
public sealed class MqttOptions
{
    public const string Section = "Mqtt";

    /// <summary>Broker address: <c>mqtt://host:port</c>, or <c>mqtts://host:port</c> for TLS (default port 8883).</summary>
    [Required]
    public string Broker { get; set; } = "mqtt://127.0.0.1:1883";

    /// <summary>CA certificate (PEM) the broker's certificate must chain to. Setting it turns TLS on.</summary>
    public string? CaFile { get; set; }

    /// <summary>Client certificate and key (PEM) for brokers that require one.</summary>
    public string? ClientCertificateFile { get; set; }
    public string? ClientKeyFile { get; set; }

    public string? Username { get; set; }

    /// <summary>File holding the password (first line). Never logged.</summary>
    public string? PasswordFile { get; set; }

    /// <summary>Environment variable holding the password, used when no <see cref="PasswordFile"/> is set.</summary>
    public string PasswordEnvironmentVariable { get; set; } = "CABIN_MQTT_PASSWORD";

    public bool UseTls => Broker.StartsWith("mqtts://", StringComparison.OrdinalIgnoreCase) || !string.IsNullOrWhiteSpace(CaFile);

    /// <summary>The password from the file or the environment; null when neither has one.</summary>
    public string? ReadPassword()
    {
        if (!string.IsNullOrWhiteSpace(PasswordFile))
            return File.ReadLines(PasswordFile).FirstOrDefault()?.TrimEnd('\r') ?? "";
        var fromEnvironment = Environment.GetEnvironmentVariable(PasswordEnvironmentVariable);
        return string.IsNullOrEmpty(fromEnvironment) ? null : fromEnvironment;
    }

    /// <summary>Checks what annotations cannot: files that must exist, certificate and key in pairs.</summary>
    public IEnumerable<string> CheckFiles()
    {
        foreach (var (key, path) in new[] { ("CaFile", CaFile), ("ClientCertificateFile", ClientCertificateFile), ("ClientKeyFile", ClientKeyFile), ("PasswordFile", PasswordFile) })
        {
            if (!string.IsNullOrWhiteSpace(path) && !File.Exists(path))
                yield return $"Mqtt:{key}: file not found: {path}";
        }
        if (string.IsNullOrWhiteSpace(ClientCertificateFile) != string.IsNullOrWhiteSpace(ClientKeyFile))
            yield return "Mqtt:ClientCertificateFile and Mqtt:ClientKeyFile go together";
        if (!string.IsNullOrWhiteSpace(PasswordFile) && string.IsNullOrWhiteSpace(Username))
            yield return "Mqtt:PasswordFile needs Mqtt:Username";
        string? brokerError = null;
        try { ParseBroker(Broker); } catch (FormatException ex) { brokerError = $"Mqtt:Broker: {ex.Message}"; }
        if (brokerError is not null) yield return brokerError;
    }

    public const string EmptyVehicleIdError = "Mqtt:VehicleId: Mqtt:VehicleId is empty; it must be 1-64 characters of [A-Za-z0-9_-]";

    /// <summary>Scopes every topic: <c>vehicle/{VehicleId}/…</c>.</summary>
    [Required, RegularExpression("^[A-Za-z0-9_-]{1,64}$", ErrorMessage = "Mqtt:VehicleId must be 1-64 characters of [A-Za-z0-9_-]")]
    public string VehicleId { get; set; } = "demo";

    /// <summary>Defaults to <c>cabin-agent-{VehicleId}</c>.</summary>
    public string? ClientId { get; set; }

    [Range(5, 600)]
    public int KeepAliveSeconds { get; set; } = 15;

    /// <summary>First delay before reconnecting; doubles up to <see cref="MaxReconnectDelayMs"/>.</summary>
    [Range(50, 60_000)]
    public int ReconnectDelayMs { get; set; } = 500;

    [Range(100, 300_000)]
    public int MaxReconnectDelayMs { get; set; } = 10_000;

    /// <summary>
    /// MQTT 5 message expiry of a command: an ECU that comes back later than this never executes a stale command.
    /// </summary>
    [Range(1, 3600)]
    public int CommandExpirySeconds { get; set; } = 30;

    [Range(100, 60_000)]
    public int ConnectTimeoutMs { get; set; } = 5_000;

    /// <summary>
    /// The durable outbox for commands accepted while the broker is unreachable. Empty: <c>$STATE_DIRECTORY</c>
    /// (set by systemd) or <c>~/.local/state/cabin-agent</c>, file <c>outbox-{VehicleId}.jsonl</c>.
    /// </summary>
    public string? OutboxPath { get; set; }

    /// <summary>A queued command older than this is dropped (and the driver told) instead of sent late.</summary>
    [Range(1, 3600)]
    public int OutboxTtlSeconds { get; set; } = 60;

    /// <summary>How long to wait for an ECU's acknowledgement on its domain's <c>agent/ack/&lt;domain&gt;</c>; 0 turns acknowledgements off.</summary>
    [Range(0, 60_000)]
    public int AckTimeoutMs { get; set; }

    /// <summary>
    /// How long the broker keeps the agent's session (subscriptions and the QoS 1 transcripts sent to it) while the agent
    /// is away: transcripts said during a restart or an outage are answered when it is back. 0: a clean session each
    /// time, and what is sent meanwhile is lost.
    /// </summary>
    [Range(0, 604_800)]
    public int SessionExpirySeconds { get; set; } = 3600;

    /// <summary>
    /// The durable intake journal: every transcript from the bus is written here (fsynced) before the broker is told it
    /// arrived. Empty: beside <see cref="OutboxPath"/> when that is set (<c>….intake.jsonl</c>), else in the state
    /// directory, file <c>intake-{VehicleId}.jsonl</c>.
    /// </summary>
    public string? IntakeJournalPath { get; set; }

    public string EffectiveOutboxPath =>
        !string.IsNullOrWhiteSpace(OutboxPath) ? OutboxPath : Path.Combine(StateDirectory(), $"outbox-{VehicleId}.jsonl");

    /// <summary>Beside the outbox it belongs to: an agent given its own outbox file gets its own journal too.</summary>
    public string EffectiveIntakeJournalPath =>
        !string.IsNullOrWhiteSpace(IntakeJournalPath) ? IntakeJournalPath
            : !string.IsNullOrWhiteSpace(OutboxPath) ? Path.ChangeExtension(OutboxPath, ".intake.jsonl")
            : Path.Combine(StateDirectory(), $"intake-{VehicleId}.jsonl");

    private static string StateDirectory()
    {
        var state = Environment.GetEnvironmentVariable("STATE_DIRECTORY");
        if (string.IsNullOrEmpty(state))
            state = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state", "cabin-agent");
        return state.Split(':')[0];
    }

    public string EffectiveClientId => string.IsNullOrWhiteSpace(ClientId) ? $"cabin-agent-{VehicleId}" : ClientId;

    /// <summary>Parses <c>mqtt://host:port</c> or <c>mqtts://host:port</c> (ports default to 1883 and 8883).</summary>
    public static (string Host, int Port) ParseBroker(string broker)
    {
        if (!Uri.TryCreate(broker, UriKind.Absolute, out var uri) || uri.Scheme is not ("mqtt" or "tcp" or "mqtts") || string.IsNullOrEmpty(uri.Host))
            throw new FormatException($"broker '{broker}' must look like mqtt://host:port or mqtts://host:port");
        return (uri.Host, uri.IsDefaultPort || uri.Port <= 0 ? (uri.Scheme == "mqtts" ? 8883 : 1883) : uri.Port);
    }
}
