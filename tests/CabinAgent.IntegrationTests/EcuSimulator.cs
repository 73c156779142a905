using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;

namespace CabinAgent.IntegrationTests;

/// <summary>What an ECU (or the cockpit's TTS) received.</summary>
public sealed record ReceivedMessage(
    string Topic, string Payload, IReadOnlyDictionary<string, string> UserProperties, string? CorrelationData,
    string? ResponseTopic, string? ContentType, bool Retain, uint MessageExpiry)
{
    public JsonObject Json => (JsonObject)JsonNode.Parse(Payload)!;
}

/// <summary>
/// Stands in for the vehicle's ECUs: subscribes to everything under the vehicle prefix over a real
/// MQTT 5 connection and records what arrives, with its properties.
/// </summary>
public sealed class EcuSimulator : IAsyncDisposable
{
    private readonly IMqttClient _client;
    private readonly ConcurrentQueue<ReceivedMessage> _received = new();
    private readonly SemaphoreSlim _arrivals = new(0);

    private EcuSimulator(IMqttClient client)
    {
        _client = client;
        _client.ApplicationMessageReceivedAsync += e =>
        {
            var m = e.ApplicationMessage;
            var props = (m.UserProperties ?? []).ToDictionary(p => p.Name, p => p.ReadValueAsString());
            var received = new ReceivedMessage(m.Topic, Encoding.UTF8.GetString(m.Payload), props,
                m.CorrelationData is null ? null : Encoding.UTF8.GetString(m.CorrelationData), m.ResponseTopic,
                m.ContentType, m.Retain, m.MessageExpiryInterval);
            _received.Enqueue(received);
            _arrivals.Release();
            if (Acknowledge is { } acknowledge && received.ResponseTopic is not null && acknowledge(received) is { } answer)
            {
                // Answer off the receive loop, as an ECU's own task would.
                _ = Task.Run(() => AnswerAsync(received, answer.Status, answer.Reason));
            }
            return Task.CompletedTask;
        };
    }

    public IReadOnlyList<ReceivedMessage> Received => _received.ToArray();

    /// <summary>
    /// Answers every command like an ECU would, on its response topic with its correlation data; the function
    /// chooses <c>ok</c> or a failure reason (null: stay silent).
    /// </summary>
    public Func<ReceivedMessage, (string Status, string? Reason)?>? Acknowledge { get; set; }

    /// <summary>
    /// Acknowledges a command as its ECU does: on the command's response topic (or <paramref name="topic"/>, to
    /// play a spoofer) with its correlation data. Returns the broker's answer (the ACL may refuse it).
    /// </summary>
    public Task<MqttClientPublishResult> AnswerAsync(ReceivedMessage command, string status, string? reason = null, string? topic = null)
    {
        var ack = new JsonObject { ["command_id"] = command.UserProperties["command_id"], ["status"] = status };
        if (reason is not null) ack["reason"] = reason;
        return _client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic ?? command.ResponseTopic)
            .WithPayload(ack.ToJsonString()).WithCorrelationData(command.CorrelationData is null ? null : Encoding.UTF8.GetBytes(command.CorrelationData))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
    }

    public IReadOnlyList<ReceivedMessage> On(string topic) => _received.Where(m => m.Topic == topic).ToList();

    private MqttClientOptions? _options;
    private string _filter = "";
    private CancellationTokenSource? _reconnect;

    /// <param name="persistentSession">
    /// Keep the session on the broker (clean start off, one-hour expiry) and reconnect by itself, like an ECU
    /// that must not miss a command while the broker restarts.
    /// </param>
    public static Task<EcuSimulator> ConnectAsync(string brokerUrl, string filter = "vehicle/#", bool persistentSession = false)
    {
        var uri = new Uri(brokerUrl);
        return ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(uri.Host, uri.Port), filter, persistentSession);
    }

    /// <param name="builder">Where and how to connect (TLS and a role's certificate on the production bus).</param>
    public static async Task<EcuSimulator> ConnectAsync(MqttClientOptionsBuilder builder, string filter = "vehicle/#", bool persistentSession = false)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var simulator = new EcuSimulator(client) { _filter = filter };
        builder = builder
            .WithClientId("ecu-sim-" + Guid.NewGuid().ToString("N")[..8])
            .WithProtocolVersion(MqttProtocolVersion.V500);
        if (persistentSession)
            builder = builder.WithCleanStart(false).WithSessionExpiryInterval(3600);
        simulator._options = builder.Build();
        await simulator.ConnectOnceAsync();
        if (persistentSession)
        {
            simulator._reconnect = new CancellationTokenSource();
            _ = simulator.KeepConnectedAsync(simulator._reconnect.Token);
        }
        return simulator;
    }

    private async Task ConnectOnceAsync()
    {
        var result = await _client.ConnectAsync(_options!);
        if (!result.IsSessionPresent)
            await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
                .WithTopicFilter(f => f.WithTopic(_filter).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce))
                .Build());
    }

    private async Task KeepConnectedAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (!_client.IsConnected) await ConnectOnceAsync();
            }
            catch (Exception) when (!ct.IsCancellationRequested)
            {
                // The broker is down; try again shortly.
            }
            try { await Task.Delay(100, ct); } catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>Waits until <paramref name="predicate"/> holds for what arrived, or fails after the timeout.</summary>
    public async Task WaitForAsync(Func<IReadOnlyList<ReceivedMessage>, bool> predicate, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!predicate(Received))
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
                throw new TimeoutException("the ECU simulator did not receive what was expected; got: " +
                    string.Join(" | ", Received.Select(m => $"{m.Topic} {m.Payload}")));
            await _arrivals.WaitAsync(left < TimeSpan.FromMilliseconds(200) ? left : TimeSpan.FromMilliseconds(200));
        }
    }

    /// <summary>Publishes as another bus participant (a telemetry ECU, an external ASR); returns the broker's answer.</summary>
    public Task<MqttClientPublishResult> PublishAsync(string topic, byte[] payload, bool retain = false) =>
        _client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithRetainFlag(retain).Build());

    public async ValueTask DisposeAsync()
    {
        _reconnect?.Cancel();
        if (_client.IsConnected) await _client.DisconnectAsync();
        _client.Dispose();
    }
}
