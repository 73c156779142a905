using System.ComponentModel.DataAnnotations;

namespace CabinAgent.Messaging;

/// <summary>Broker connection, bound from the <c>Mqtt</c> configuration section and validated at start-up.</summary>
public sealed class MqttOptions
{
    public const string Section = "Mqtt";

    /// <summary>Broker address as <c>mqtt://host:port</c>.</summary>
    [Required]
    public string Broker { get; set; } = "mqtt://127.0.0.1:1883";

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

    public string EffectiveClientId => string.IsNullOrWhiteSpace(ClientId) ? $"cabin-agent-{VehicleId}" : ClientId;

    /// <summary>Parses <c>mqtt://host:port</c> (port defaults to 1883).</summary>
    public static (string Host, int Port) ParseBroker(string broker)
    {
        if (!Uri.TryCreate(broker, UriKind.Absolute, out var uri) || uri.Scheme is not ("mqtt" or "tcp") || string.IsNullOrEmpty(uri.Host))
            throw new FormatException($"broker '{broker}' must look like mqtt://host:port");
        return (uri.Host, uri.IsDefaultPort || uri.Port <= 0 ? 1883 : uri.Port);
    }
}
