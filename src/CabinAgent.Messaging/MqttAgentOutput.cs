using System.Text;
using System.Text.Json;
using CabinAgent.Pipeline;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Protocol;

namespace CabinAgent.Messaging;

/// <summary>
/// Publishes commands and spoken responses on the vehicle bus, per the contract in docs/mqtt.md:
/// the payload is exactly the command JSON; ids travel as MQTT 5 user properties and correlation data.
/// While the broker is unreachable, commands go to the durable outbox and are sent in order on reconnect.
/// </summary>
public sealed class MqttAgentOutput : IAgentOutput
{
    private readonly MqttConnection _connection;
    private readonly TopicMap _topics;
    private readonly MqttOptions _options;
    private readonly CommandOutbox _outbox;
    private readonly AckTracker? _acks;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _order = new(1, 1);

    public MqttAgentOutput(MqttConnection connection, TopicMap topics, MqttOptions options, CommandOutbox outbox,
        AckTracker? acks, TimeProvider time, ILogger<MqttAgentOutput> logger)
    {
        _connection = connection;
        _topics = topics;
        _options = options;
        _outbox = outbox;
        _acks = acks;
        _time = time;
        _logger = logger;
        _connection.Connected += DrainOutboxAsync;
    }

    /// <summary>Commands waiting for the broker.</summary>
    public int OutboxDepth => _outbox.Count;

    /// <summary>Raised when a queued command expired and was dropped; the Host tells the driver.</summary>
    public event Func<OutboxEntry, Task>? Dropped;

    /// <summary>Listens for ECU acknowledgements (when they are on). Call once before connecting.</summary>
    public Task StartAsync(CancellationToken ct) =>
        _acks is null
            ? Task.CompletedTask
            : _connection.SubscribeAsync(_topics.Ack, message =>
            {
                var ignored = _acks.OnAck(message.Payload, message.CorrelationData);
                if (ignored is not null) _logger.LogWarning("Ignored an acknowledgement: {Reason}", ignored);
                return Task.CompletedTask;
            }, ct);

    public async Task<PublishReceipt> PublishCommandAsync(OutgoingCommand command, CancellationToken cancellationToken)
    {
        var topic = _topics.ForAction(command.Action.Name);
        var entry = new OutboxEntry(command.CommandId, command.UtteranceId, command.Tier, command.Lang, command.Action.Name,
            topic, command.Command.ToJson(), _time.GetUtcNow().ToUnixTimeMilliseconds());

        // One at a time, so commands leave in the order they were accepted, queued or not.
        await _order.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_outbox.Count > 0 || !_connection.IsConnected)
            {
                _outbox.Add(entry);
                _logger.LogWarning("Broker unreachable: {Action} {CommandId} queued ({Depth} in the outbox)",
                    entry.Action, entry.CommandId, _outbox.Count);
                return new PublishReceipt(topic, PublishState.Queued);
            }
            var ack = _acks?.Expect(command.CommandId);
            try
            {
                await _connection.PublishAsync(BuildCommandMessage(entry, _options.CommandExpirySeconds), cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is MqttNotConnectedException or MqttCommunicationException)
            {
                _acks?.Forget(command.CommandId);
                _outbox.Add(entry);
                _logger.LogWarning("Publish failed ({Error}): {Action} {CommandId} queued", ex.Message, entry.Action, entry.CommandId);
                return new PublishReceipt(topic, PublishState.Queued);
            }
            return new PublishReceipt(topic, PublishState.Sent, ack);
        }
        finally
        {
            _order.Release();
        }
    }

    public Task SayAsync(SpokenMessage message, CancellationToken cancellationToken) =>
        _connection.PublishAsync(BuildSpokenMessage(_topics.Response, message), cancellationToken);

    /// <summary>Sends what the outbox holds, oldest first; drops (and reports) what has outlived its TTL.</summary>
    public async Task DrainOutboxAsync()
    {
        await _order.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var entry in _outbox.Snapshot())
            {
                var age = _time.GetUtcNow().ToUnixTimeMilliseconds() - entry.AcceptedUnixMs;
                var left = _options.OutboxTtlSeconds * 1000L - age;
                if (left <= 0)
                {
                    _outbox.Complete(entry.CommandId);
                    _logger.LogWarning("Dropped {Action} {CommandId}: {Age} ms old, TTL {Ttl} s", entry.Action, entry.CommandId, age, _options.OutboxTtlSeconds);
                    if (Dropped is { } dropped) await dropped(entry).ConfigureAwait(false);
                    continue;
                }
                if (!_connection.IsConnected) return;
                try
                {
                    var expiry = (int)Math.Max(1, Math.Min(_options.CommandExpirySeconds, left / 1000));
                    await _connection.PublishAsync(BuildCommandMessage(entry, expiry), CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is MqttNotConnectedException or MqttCommunicationException)
                {
                    _logger.LogWarning("Outbox drain interrupted: {Error}", ex.Message);
                    return;
                }
                _outbox.Complete(entry.CommandId);
                _logger.LogInformation("Sent queued {Action} {CommandId} after {Age} ms", entry.Action, entry.CommandId, age);
            }
        }
        finally
        {
            _order.Release();
        }
    }

    public MqttApplicationMessage BuildCommandMessage(OutboxEntry entry, int expirySeconds) =>
        new MqttApplicationMessageBuilder()
            .WithTopic(entry.Topic)
            .WithPayload(Encoding.UTF8.GetBytes(entry.Payload))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType("application/json")
            .WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData)
            .WithMessageExpiryInterval((uint)expirySeconds)
            .WithResponseTopic(_topics.Ack)
            .WithCorrelationData(Encoding.UTF8.GetBytes(entry.CommandId))
            .WithUserProperty("command_id", Utf8(entry.CommandId))
            .WithUserProperty("utterance_id", Utf8(entry.UtteranceId))
            .WithUserProperty("tier", Utf8(entry.Tier))
            .WithUserProperty("lang", Utf8(entry.Lang))
            .Build();

    public static MqttApplicationMessage BuildSpokenMessage(string topic, SpokenMessage message)
    {
        var payload = new Dictionary<string, string>
        {
            ["utterance_id"] = message.UtteranceId,
            ["kind"] = message.Kind,
            ["lang"] = message.Lang,
            ["text"] = message.Text,
        };
        if (message.Reason is not null) payload["reason"] = message.Reason;
        if (message.IdProblem is not null) payload["id_problem"] = message.IdProblem;
        return new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(JsonSerializer.SerializeToUtf8Bytes(payload, SpokenJson))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType("application/json")
            .WithUserProperty("utterance_id", Utf8(message.UtteranceId))
            .Build();
    }

    private static ReadOnlyMemory<byte> Utf8(string value) => Encoding.UTF8.GetBytes(value);

    private static readonly JsonSerializerOptions SpokenJson = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}

/// <summary><c>--dry-run</c>: resolves the topic a command would go to and publishes nothing.</summary>
public sealed class DryRunOutput(TopicMap topics) : IAgentOutput
{
    public Task<PublishReceipt> PublishCommandAsync(OutgoingCommand command, CancellationToken cancellationToken) =>
        Task.FromResult(new PublishReceipt(topics.ForAction(command.Action.Name), PublishState.Sent));

    public Task SayAsync(SpokenMessage message, CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary><c>--dry-run</c> for the safety layer: alerts are raised and reported, not published.</summary>
public sealed class DryRunAlertSink : CabinAgent.Safety.IAlertSink
{
    public ValueTask PublishAlertAsync(CabinAgent.Safety.SafetyAlert alert, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask SpeakAsync(CabinAgent.Safety.SpokenNotice notice, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
