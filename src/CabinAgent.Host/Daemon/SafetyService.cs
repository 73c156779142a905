using System.Diagnostics;
using CabinAgent.Messaging;
using CabinAgent.Safety;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CabinAgent.Host.Daemon;

/// <summary>
/// The safety layer's own path in the daemon: telemetry from <c>telemetry/+</c> straight into the state store
/// (no queue, no model in between: ingesting is cheap and synchronous, so it runs on the MQTT receive loop itself), the
/// timer that evaluates hold times and confirmation timeouts, and the dispatcher that publishes alerts. None of it
/// waits for the understanding tiers or for transcripts.
/// </summary>
internal sealed class SafetyService(
    SafetyModule safety,
    MqttConnection connection,
    TopicMap topics,
    TimeProvider time,
    ILogger<SafetyService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await connection.SubscribeAsync(topics.TelemetryFilter, message =>
        {
            // Bad telemetry is rejected, logged and counted inside the layer; it never overwrites good state. The time is
            // the message's arrival, so an alert's latency (and a budget miss) counts from there.
            var arrived = time.GetUtcNow() - Stopwatch.GetElapsedTime(message.ReceivedTimestamp);
            safety.Layer.IngestTelemetry(message.Topic, message.Payload, arrived,
                message.Retained ? TelemetryOrigin.Retained : TelemetryOrigin.Live);
            return Task.CompletedTask;
        }, stoppingToken);
        logger.LogInformation("Safety layer listening on {Filter}", topics.TelemetryFilter);
        await Task.WhenAll(
            safety.Dispatcher.RunAsync(stoppingToken),
            safety.Layer.RunTimerAsync(stoppingToken));
    }
}
