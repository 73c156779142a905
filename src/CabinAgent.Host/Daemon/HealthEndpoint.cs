using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using CabinAgent.Messaging;
using CabinAgent.Pipeline;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;

namespace CabinAgent.Host.Daemon;

/// <summary>
/// <c>GET /healthz</c> (JSON: broker, outbox, tiers) and <c>GET /metrics</c> (Prometheus text: the pipeline's
/// meters — utterances by outcome and tier, stage latencies — plus broker state and outbox depth) on loopback.
/// </summary>
internal sealed class HealthEndpoint(
    IOptions<ObservabilityOptions> options,
    MqttConnection connection,
    MqttAgentOutput output,
    UtterancePipeline pipeline,
    IEnumerable<IHealthContributor> contributors,
    ILogger<HealthEndpoint> logger) : BackgroundService
{
    private static readonly Gauge BrokerConnected = Metrics.CreateGauge("cabin_broker_connected", "1 while connected to the MQTT broker");
    private static readonly Gauge OutboxDepth = Metrics.CreateGauge("cabin_outbox_depth", "Commands waiting in the durable outbox");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var port = options.Value.Port;
        if (port == 0) return;
        Metrics.DefaultRegistry.AddBeforeCollectCallback(() =>
        {
            BrokerConnected.Set(connection.IsConnected ? 1 : 0);
            OutboxDepth.Set(output.OutboxDepth);
        });
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        try
        {
            listener.Start();
        }
        catch (HttpListenerException ex)
        {
            logger.LogError("Health endpoint could not listen on 127.0.0.1:{Port}: {Error}", port, ex.Message);
            return;
        }
        logger.LogInformation("Health on http://127.0.0.1:{Port}/healthz, metrics on /metrics", port);
        using var registration = stoppingToken.Register(listener.Stop);
        while (!stoppingToken.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            try
            {
                await RespondAsync(context, stoppingToken);
            }
            catch (Exception ex) when (ex is HttpListenerException or IOException)
            {
                logger.LogDebug("Health request aborted: {Error}", ex.Message);
            }
        }
    }

    private async Task RespondAsync(HttpListenerContext context, CancellationToken ct)
    {
        var response = context.Response;
        switch (context.Request.Url?.AbsolutePath)
        {
            case "/metrics":
                response.ContentType = "text/plain; version=0.0.4";
                await Metrics.DefaultRegistry.CollectAndExportAsTextAsync(response.OutputStream, ct);
                break;
            case "/healthz":
                var health = Health();
                response.ContentType = "application/json";
                await JsonSerializer.SerializeAsync(response.OutputStream, health, cancellationToken: ct);
                break;
            default:
                response.StatusCode = 404;
                break;
        }
        response.Close();
    }

    internal JsonObject Health()
    {
        var degraded = new JsonArray();
        if (!connection.IsConnected) degraded.Add("broker disconnected: commands are queued in the outbox");
        var components = new JsonObject
        {
            ["broker"] = connection.IsConnected ? "connected" : "disconnected",
            ["outbox_depth"] = output.OutboxDepth,
            ["tiers"] = new JsonArray(pipeline.Tiers.Select(t => (JsonNode)t.Name).ToArray()),
        };
        foreach (var contributor in contributors)
        {
            var (name, state, problem) = contributor.Report();
            components[name] = state;
            if (problem is not null) degraded.Add(problem);
        }
        return new JsonObject
        {
            ["status"] = degraded.Count == 0 ? "ok" : "degraded",
            ["components"] = components,
            ["degraded"] = degraded,
        };
    }
}

/// <summary>A part of the agent that reports its state on /healthz (the model, the speech front, the safety layer).</summary>
public interface IHealthContributor
{
    /// <returns>A component name, its state, and a problem sentence when it is degraded.</returns>
    (string Name, string State, string? Problem) Report();
}
