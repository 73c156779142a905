using System.ComponentModel.DataAnnotations;

namespace CabinAgent.Host.Daemon;

/// <summary>The health and metrics endpoint, bound from <c>Observability</c>. Loopback only: it is for the box itself.</summary>
public sealed class ObservabilityOptions
{
    public const string Section = "Observability";

    /// <summary>Port for <c>/healthz</c> and <c>/metrics</c> on 127.0.0.1; 0 turns the endpoint off.</summary>
    [Range(0, 65535)]
    public int Port { get; set; } = 9464;
}
