using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using CabinAgent.Messaging;
using CabinAgent.Pipeline;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Prometheus;

namespace CabinAgent.Host.Daemon;

/// <summary>
/// <c>GET /healthz</c> (JSON: broker, outbox, tiers) and <c>GET /metrics</c> (Prometheus text: utterances by
/// outcome and tier, stage latencies, broker state, outbox depth, safety-layer counts including latency-budget misses,
/// rejected bus input)
/// on loopback.
/// </summary>
internal sealed class HealthEndpoint(
    IOptions<ObservabilityOptions> options,
    MqttConnection connection,
    MqttAgentOutput output,
    UtterancePipeline pipeline,
    PipelineMetrics pipelineMetrics,
    CabinAgent.Safety.SafetyModule safety,
    TranscriptIntake intake,
    UtteranceQueue queue,
    IntakeJournal journal,
    IEnumerable<IHealthContributor> contributors,
    IEnumerable<RejectedInputLog> rejectedInputs,
    ILogger<HealthEndpoint> logger) : BackgroundService
{
    private static readonly Gauge BrokerConnected = Metrics.CreateGauge("cabin_broker_connected", "1 while connected to the MQTT broker");
    private static readonly Gauge OutboxDepth = Metrics.CreateGauge("cabin_outbox_depth", "Commands and responses waiting in the durable outbox");
    private static readonly Gauge DeadLetters = Metrics.CreateGauge("cabin_outbox_dead_letters",
        "Messages the broker would not take, moved to the dead-letter file since start (alert on any increase)");
    private static readonly Gauge SafetyEvents = Metrics.CreateGauge("cabin_safety_events",
        "Safety layer counts since start: telemetry accepted/rejected, alerts, budget misses, gate decisions, confirmations",
        new GaugeConfiguration { LabelNames = ["event", "detail"] });
    private static readonly Gauge IntakeEvents = Metrics.CreateGauge("cabin_intake_events",
        "Transcript intake since start: accepted (journaled), duplicate (a redelivery not run again), rerun (unfinished at a " +
        "restart), shed (answered rejected: busy); unfinished: journaled and not answered yet",
        new GaugeConfiguration { LabelNames = ["event"] });
    private static readonly Gauge ComponentOk = Metrics.CreateGauge("cabin_component_ok",
        "1 when a component (llm model, speech front) is loaded and working, 0 when it is degraded",
        new GaugeConfiguration { LabelNames = ["component", "state"] });
    private static readonly Counter RejectedInput = Metrics.CreateCounter("cabin_rejected_input_total",
        "Bus input rejected since start, by kind (ack): every one, though its log lines are rate-limited",
        new CounterConfiguration { LabelNames = ["input"] });
    private static readonly Counter Utterances = Metrics.CreateCounter("cabin_utterances_total", "Utterances by outcome and tier",
        new CounterConfiguration { LabelNames = ["outcome", "tier"] });
    private static readonly Histogram StageLatency = Metrics.CreateHistogram("cabin_stage_latency_ms", "Latency of each pipeline stage in ms",
        new HistogramConfiguration
        {
            LabelNames = ["stage"],
            Buckets = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2000, 5000],
        });

    private readonly Dictionary<string, string> _componentStates = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var port = options.Value.Port;
        if (port == 0) return;
        pipelineMetrics.Recorded += record =>
        {
            Utterances.WithLabels(record.Outcome.Wire(), record.Tier?.Wire() ?? "none").Inc();
            foreach (var (stage, ms) in record.LatencyMs)
                StageLatency.WithLabels(stage).Observe(ms);
        };
        Metrics.DefaultRegistry.AddBeforeCollectCallback(() =>
        {
            BrokerConnected.Set(connection.IsConnected ? 1 : 0);
            OutboxDepth.Set(output.OutboxDepth);
            DeadLetters.Set(output.DeadLetterCount);
            var (accepted, duplicates, rerun) = intake.Counts;
            IntakeEvents.WithLabels("accepted").Set(accepted);
            IntakeEvents.WithLabels("duplicate").Set(duplicates);
            IntakeEvents.WithLabels("rerun").Set(rerun);
            IntakeEvents.WithLabels("shed").Set(queue.Shed);
            IntakeEvents.WithLabels("unfinished").Set(journal.Unfinished);
            lock (_componentStates)
            {
                foreach (var contributor in contributors)
                {
                    var (component, state, problem) = contributor.Report();
                    // One series per component: a state that changes back and forth (the speech front reconnecting)
                    // must not leave a stale 0 or 1 behind under its old state label.
                    if (_componentStates.TryGetValue(component, out var previous) && previous != state)
                        ComponentOk.RemoveLabelled(component, previous);
                    _componentStates[component] = state;
                    ComponentOk.WithLabels(component, state).Set(problem is null ? 1 : 0);
                }
            }
            foreach (var rejected in rejectedInputs)
                RejectedInput.WithLabels(rejected.Input).IncTo(rejected.Total);
            foreach (var (name, value) in safety.Layer.Counters.Snapshot())
            {
                var dot = name.IndexOf('.');
                SafetyEvents.WithLabels(dot < 0 ? name : name[..dot], dot < 0 ? "" : name[(dot + 1)..]).Set(value);
            }
        });
        using var listener = await StartListenerAsync(port, stoppingToken);
        if (listener is null) return;
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

    /// <summary>
    /// Starts the listener, or says why it cannot and returns null; the agent runs on without its health endpoint.
    /// .NET's managed HttpListener can throw from Start when a client connects at that very moment (a race in
    /// HttpEndPointListener's constructor, seen with a probe polling /healthz at start-up): that is retried, so a
    /// health probe can never stop the agent.
    /// </summary>
    private async Task<HttpListener?> StartListenerAsync(int port, CancellationToken ct)
    {
        try
        {
            return await ListenerStartRetry(logger).ExecuteAsync(_ =>
            {
                var listener = new HttpListener();
                listener.Prefixes.Add($"http://127.0.0.1:{port}/");
                try
                {
                    listener.Start();
                    return ValueTask.FromResult(listener);
                }
                catch
                {
                    ((IDisposable)listener).Dispose();
                    throw;
                }
            }, ct);
        }
        catch (Exception ex) when (ex is HttpListenerException or ArgumentNullException or NullReferenceException)
        {
            logger.LogError("Health endpoint could not listen on 127.0.0.1:{Port}: {Error}", port, ex.Message);
            return null;
        }
    }

    /// <summary>
    /// Five attempts in all, 50, 100, 150, 200 ms apart, and only for the race: an <see cref="HttpListenerException"/>
    /// (the port is taken, no permission) will not go away by waiting.
    /// </summary>
    private static ResiliencePipeline ListenerStartRetry(ILogger logger) =>
        new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<ArgumentNullException>().Handle<NullReferenceException>(),
                MaxRetryAttempts = 4,
                BackoffType = DelayBackoffType.Linear,
                UseJitter = false,
                Delay = TimeSpan.FromMilliseconds(50),
                OnRetry = args =>
                {
                    logger.LogWarning("Health endpoint start raced a connection ({Error}); retrying", args.Outcome.Exception!.GetType().Name);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();

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
            ["tiers"] = new JsonArray(pipeline.Tiers.Select(t => (JsonNode)t.Name.Wire()).ToArray()),
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
