using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using CabinAgent.Host.Composition;
using CabinAgent.Messaging;
using CabinAgent.Pipeline;
using CabinAgent.Safety;
using CabinAgent.Tools.Bench;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Protocol;

namespace CabinAgent.Host.Commands;

/// <summary>
/// <c>bench safety</c>'s backlog scenario: the daemon's own intake (MQTT receive loop, transcript lane with its fsynced
/// journal, admission, the bounded understanding queue, busy shedding, the deterministic tier publishing) with 1,000
/// transcripts arriving just before each measured door alert and emergency. Latency runs from the moment the message
/// reached the agent's MQTT client to the publish call returning, as the daemon measures its budgets.
/// </summary>
internal sealed class SafetyBacklogBench : IAsyncDisposable
{
    public const int Backlog = 1000;

    private static readonly byte[] Moving = """{"value": 40}"""u8.ToArray();
    private static readonly byte[] SosPrefix = """{"id":"sos-"""u8.ToArray();

    private readonly ServiceProvider _services;
    private readonly AgentRuntime _runtime;
    private readonly EmbeddedBroker _broker;
    private readonly IMqttClient _publisher;
    private readonly TopicMap _topics;
    private readonly EmergencyProbe _emergencies;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _running = [];
    private readonly ConcurrentDictionary<string, long> _emergencyArrivals = new(StringComparer.Ordinal);
    private readonly string _state;
    private long _doorArrived;

    /// <summary>The layer the telemetry lane feeds now: a fresh one per sample, so a re-alert interval never swallows one.</summary>
    private SafetyLayer? _layer;

    private SafetyBacklogBench(ServiceProvider services, EmbeddedBroker broker, IMqttClient publisher, EmergencyProbe emergencies, string state)
    {
        _state = state;
        _services = services;
        _runtime = services.GetRequiredService<AgentRuntime>();
        _broker = broker;
        _publisher = publisher;
        _emergencies = emergencies;
        _topics = _runtime.Topics;
    }

    public SafetyModule Safety => _runtime.Safety;

    public static async Task<SafetyBacklogBench> StartAsync(CancellationToken ct)
    {
        var broker = await EmbeddedBroker.StartAsync();
        var state = Directory.CreateTempSubdirectory("cabin-bench-backlog-").FullName;
        var overrides = new Dictionary<string, string?>
        {
            ["Agent:Tiers"] = "deterministic", ["Mqtt:Broker"] = broker.Url, ["Mqtt:VehicleId"] = "bench",
            ["Mqtt:OutboxPath"] = Path.Combine(state, "outbox.jsonl"), ["Mqtt:IntakeJournalPath"] = Path.Combine(state, "intake.jsonl"),
        };
        EmergencyProbe? probe = null;
        var services = CliSupport.BuildAgent(AgentComposition.BuildConfiguration(null, overrides), verbose: false, s =>
            s.AddSingleton<IAgentOutput>(sp => probe = new EmergencyProbe(sp.GetRequiredService<MqttAgentOutput>())));
        services.GetRequiredService<UtterancePipeline>();
        var publisher = new MqttClientFactory().CreateMqttClient();
        var (host, port) = MqttOptions.ParseBroker(broker.Url);
        await publisher.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(host, port).WithClientId("bench-asr")
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500).Build(), ct);
        var bench = new SafetyBacklogBench(services, broker, publisher, probe!, state);
        await bench.StartAgentAsync(ct);
        return bench;
    }

    /// <summary>
    /// The daemon's runtime with its broker session and transcript lane (journal, admission, queue); telemetry goes to
    /// the sample's own layer instead of the runtime's, and arrivals are stamped on the way in.
    /// </summary>
    private async Task StartAgentAsync(CancellationToken ct)
    {
        var time = TimeProvider.System;
        await _runtime.Connection.SubscribeAsync(_topics.TelemetryFilter, message =>
        {
            if (message.Topic.EndsWith("/door_open", StringComparison.Ordinal)) Volatile.Write(ref _doorArrived, message.ReceivedTimestamp);
            Volatile.Read(ref _layer)?.IngestTelemetry(message.Topic, message.Payload, time.GetUtcNow() - Stopwatch.GetElapsedTime(message.ReceivedTimestamp));
            return Task.CompletedTask;
        }, ct);
        await _runtime.StartAsync(AgentLanes.Broker | AgentLanes.Intake, _stop.Token, message =>
        {
            if (message.Payload.AsSpan().StartsWith(SosPrefix))
                _emergencyArrivals[JsonNode.Parse(message.Payload)!["id"]!.GetValue<string>()] = message.ReceivedTimestamp;
        });
    }

    /// <summary>
    /// <paramref name="rounds"/> times: 1,000 transcripts published at once, then a door opening at 40 km/h and an
    /// emergency transcript right behind them. Returns the two rows (latency from arrival at the agent). Alert budget
    /// misses land in <paramref name="counters"/>; emergency ones in <see cref="Safety"/>'s.
    /// </summary>
    public async Task<(JsonObject Alerts, JsonObject Emergencies)> RunAsync(int rounds, SafetyOptions options, SafetyCounters counters,
        LatencyBudgets budgets, CancellationToken ct)
    {
        // Alerts leave through the agent's own connection, among the backlog's commands and answers.
        var alerts = new SafetyProbeSink(new MqttSafetySink(_runtime.Connection, _topics));
        var dispatcher = new ChannelAlertDispatcher(alerts, options, budgets, counters, TimeProvider.System, NullLogger.Instance);
        _running.Add(Task.Run(() => dispatcher.RunAsync(_stop.Token), CancellationToken.None));
        var layers = _services.GetRequiredService<SafetyLayerFactory>();
        SafetyLayer NewLayer() => layers.Create(dispatcher, TimeProvider.System, counters, NullLogger.Instance, budgets);

        var alertSamples = new List<double>(rounds);
        var emergencySamples = new List<double>(rounds);
        var texts = new[] { "音量调到30", "温度调到22度", "风量调到3档", "下一首", "打开车窗" };
        for (var round = 0; round < rounds + 1; round++)
        {
            var layer = NewLayer();
            layer.IngestTelemetry("telemetry/speed_kmh", Moving, DateTimeOffset.UtcNow);
            Volatile.Write(ref _layer, layer);

            var backlog = new List<Task>(Backlog);
            for (var i = 0; i < Backlog; i++)
                backlog.Add(PublishAsync(_topics.Transcript,
                    $$"""{"id":"backlog-{{round}}-{{i}}","text":"{{texts[i % texts.Length]}}"}""", ct));
            var alertPublished = alerts.Expect();
            var sosId = string.Create(CultureInfo.InvariantCulture, $"sos-{round}");
            var emergencyPublished = _emergencies.Expect(sosId);
            backlog.Add(PublishAsync(_topics.TelemetryPrefix + "door_open", """{"value": true}""", ct));
            backlog.Add(PublishAsync(_topics.Transcript, $$"""{"id":"{{sosId}}","text":"救命，出车祸了"}""", ct));
            await Task.WhenAll(backlog);

            var alertAt = await alertPublished.WaitAsync(TimeSpan.FromSeconds(30), ct);
            var emergencyAt = await emergencyPublished.WaitAsync(TimeSpan.FromSeconds(30), ct);
            if (round == 0) continue; // warm-up
            alertSamples.Add(Stopwatch.GetElapsedTime(Volatile.Read(ref _doorArrived), alertAt).TotalMilliseconds);
            emergencySamples.Add(Stopwatch.GetElapsedTime(_emergencyArrivals[sosId], emergencyAt).TotalMilliseconds);
        }
        var (accepted, _, _) = _runtime.Intake.Counts;
        var load = "transcript_backlog_1000";
        var alertRow = SafetyLatencyBench.Row("telemetry_to_alert", load, alertSamples);
        var emergencyRow = SafetyLatencyBench.Row("transcript_to_emergency", load, emergencySamples);
        foreach (var row in new[] { alertRow, emergencyRow })
        {
            row["target_p99_ms"] = 100.0;
            row["transcripts_journaled"] = accepted;
            row["transcripts_shed_busy"] = _runtime.Queue.Shed;
        }
        return (alertRow, emergencyRow);
    }

    private Task PublishAsync(string topic, string payload, CancellationToken ct) =>
        _publisher.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(Encoding.UTF8.GetBytes(payload))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), ct);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try { await Task.WhenAll(_running); } catch (OperationCanceledException) { }
        _publisher.Dispose();
        await _services.DisposeAsync();
        await _broker.DisposeAsync();
        _stop.Dispose();
        try { Directory.Delete(_state, recursive: true); } catch (IOException) { }
    }

    /// <summary>The agent's output, reporting when the publish call of an emergency call returned.</summary>
    internal sealed class EmergencyProbe(IAgentOutput inner) : IAgentOutput
    {
        private readonly ConcurrentDictionary<string, TaskCompletionSource<long>> _expected = new(StringComparer.Ordinal);

        public Task<long> Expect(string utteranceId) =>
            _expected.GetOrAdd(utteranceId, _ => new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

        public async Task<PublishReceipt> PublishCommandAsync(OutgoingCommand command, CancellationToken cancellationToken)
        {
            var receipt = await inner.PublishCommandAsync(command, cancellationToken);
            if (command.Action.Name == EmergencyDetector.EmergencyAction && _expected.TryRemove(command.UtteranceId, out var waiting))
                waiting.TrySetResult(Stopwatch.GetTimestamp());
            return receipt;
        }

        public Task SayAsync(SpokenMessage message, CancellationToken cancellationToken) => inner.SayAsync(message, cancellationToken);
    }
}
