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
/// While the broker is unreachable, commands and responses go to the durable outbox and are sent in order on
/// reconnect. A message the broker will never take goes to the dead-letter file instead, so it cannot block
/// the ones behind it.
/// </summary>
public sealed class MqttAgentOutput : IAgentOutput
{
    /// <summary>
    /// Sends of one message that ended with the connection cut before it is taken for poison. One is not enough:
    /// a broker restart during a publish cuts the connection too, and that command must still go out.
    /// </summary>
    public const int MaxInterruptedSends = 2;

    private readonly MqttConnection _connection;
    private readonly TopicMap _topics;
    private readonly MqttOptions _options;
    private readonly CommandOutbox _outbox;
    private readonly DeadLetterFile _deadLetters;
    private readonly AckTracker? _acks;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _order = new(1, 1);
    private readonly Dictionary<string, int> _interruptedSends = new(StringComparer.Ordinal);

    public MqttAgentOutput(MqttConnection connection, TopicMap topics, MqttOptions options, CommandOutbox outbox,
        DeadLetterFile deadLetters, AckTracker? acks, TimeProvider time, ILogger<MqttAgentOutput> logger)
    {
        _connection = connection;
        _topics = topics;
        _options = options;
        _outbox = outbox;
        _deadLetters = deadLetters;
        _acks = acks;
        _time = time;
        _logger = logger;
        _connection.Connected += DrainOutboxAsync;
    }

    /// <summary>Commands and responses waiting for the broker.</summary>
    public int OutboxDepth => _outbox.Count;

    /// <summary>Messages written to the dead-letter file since start.</summary>
    public int DeadLetterCount => _deadLetters.Count;

    /// <summary>Raised when a queued command expired and was dropped; the Host tells the driver.</summary>
    public event Func<OutboxEntry, Task>? Dropped;

    /// <summary>
    /// Raised when a queued command went to the dead-letter file; the Host tells the driver. (A command that cannot
    /// be sent straight away comes back to the pipeline as <see cref="PublishState.Undeliverable"/> instead.)
    /// </summary>
    public event Func<OutboxEntry, Task>? Undeliverable;

    /// <summary>
    /// Listens for ECU acknowledgements on every domain's ack topic (when they are on); what the tracker ignores it
    /// also counts and logs, rate-limited. Call once before connecting.
    /// </summary>
    public Task StartAsync(CancellationToken ct) =>
        _acks is null
            ? Task.CompletedTask
            : _connection.SubscribeAsync(_topics.AckFilter, message =>
            {
                _acks.OnAck(message.Topic, message.Payload, message.CorrelationData);
                return Task.CompletedTask;
            }, ct);

    public async Task<PublishReceipt> PublishCommandAsync(OutgoingCommand command, CancellationToken cancellationToken)
    {
        var topic = _topics.ForAction(command.Action.Name);
        var entry = new OutboxEntry(command.CommandId, command.UtteranceId, command.Tier, command.Lang, command.Action.Name,
            topic, command.Command.ToJson(), _time.GetUtcNow().ToUnixTimeMilliseconds());

        // One at a time, so messages leave in the order they were accepted, queued or not.
        await _order.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_outbox.Count > 0 || !_connection.IsConnected)
            {
                Queue(entry, "broker unreachable");
                return new PublishReceipt(topic, PublishState.Queued);
            }
            var ack = _acks?.Expect(command.CommandId, _topics.AckFor(topic));
            var (result, reason) = await SendAsync(entry, _options.CommandExpirySeconds, cancellationToken).ConfigureAwait(false);
            if (result == SendResult.Sent)
                return new PublishReceipt(topic, PublishState.Sent, ack);
            _acks?.Forget(command.CommandId);
            if (result == SendResult.DeadLettered)
                return new PublishReceipt(topic, PublishState.Undeliverable, Reason: reason);
            Queue(entry, reason!);
            return new PublishReceipt(topic, PublishState.Queued);
        }
        finally
        {
            _order.Release();
        }
    }

    /// <summary>
    /// Says something to the driver. While the broker is unreachable the response waits in the outbox behind the
    /// commands accepted before it, so every utterance's answer arrives, in order, once the bus is back.
    /// </summary>
    public async Task SayAsync(SpokenMessage message, CancellationToken cancellationToken)
    {
        var entry = new OutboxEntry("response-" + Guid.CreateVersion7().ToString("N"), message.UtteranceId, "", message.Lang,
            message.Kind, _topics.Response, SpokenPayload(message), _time.GetUtcNow().ToUnixTimeMilliseconds(), OutboxKinds.Response);
        await _order.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_outbox.Count > 0 || !_connection.IsConnected)
            {
                Queue(entry, "broker unreachable");
                return;
            }
            var (result, reason) = await SendAsync(entry, expirySeconds: null, cancellationToken).ConfigureAwait(false);
            if (result == SendResult.Interrupted)
                Queue(entry, reason!);
        }
        finally
        {
            _order.Release();
        }
    }

    /// <summary>
    /// Sends what the outbox holds, oldest first; drops (and reports) what has outlived its TTL and moves what the
    /// broker will not take to the dead-letter file.
    /// </summary>
    public async Task DrainOutboxAsync()
    {
        var dropped = new List<OutboxEntry>();
        var undeliverable = new List<OutboxEntry>();
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
                    _logger.LogWarning("Dropped {Kind} {Action} {CommandId}: {Age} ms old, TTL {Ttl} s",
                        entry.Kind, entry.Action, entry.CommandId, age, _options.OutboxTtlSeconds);
                    if (!entry.IsResponse) dropped.Add(entry);
                    continue;
                }
                if (!_connection.IsConnected) break;
                var expiry = (int)Math.Max(1, Math.Min(_options.CommandExpirySeconds, left / 1000));
                var (result, reason) = await SendAsync(entry, expiry, CancellationToken.None).ConfigureAwait(false);
                if (result == SendResult.Interrupted)
                {
                    _logger.LogWarning("Outbox drain interrupted: {Error}", reason);
                    break;
                }
                _outbox.Complete(entry.CommandId);
                if (result == SendResult.DeadLettered)
                {
                    if (!entry.IsResponse) undeliverable.Add(entry);
                    continue;
                }
                _logger.LogInformation("Sent queued {Kind} {Action} {CommandId} after {Age} ms", entry.Kind, entry.Action, entry.CommandId, age);
            }
        }
        finally
        {
            _order.Release();
        }
        // Outside the lock: the handlers speak to the driver, which takes the lock again.
        await RaiseAsync(Dropped, dropped).ConfigureAwait(false);
        await RaiseAsync(Undeliverable, undeliverable).ConfigureAwait(false);
    }

    private enum SendResult { Sent, Interrupted, DeadLettered }

    /// <summary>One attempt to hand a message to the broker. Call with the order lock held.</summary>
    private async Task<(SendResult Result, string? Reason)> SendAsync(OutboxEntry entry, int? expirySeconds, CancellationToken ct)
    {
        if (Unsendable(entry) is { } malformed)
            return (DeadLetter(entry, malformed), malformed);
        try
        {
            var message = entry.IsResponse ? BuildResponseMessage(entry, expirySeconds) : BuildCommandMessage(entry, expirySeconds ?? _options.CommandExpirySeconds);
            await _connection.PublishAsync(message, ct).ConfigureAwait(false);
            _interruptedSends.Remove(entry.CommandId);
            return (SendResult.Sent, null);
        }
        catch (MqttPublishRefusedException ex)
        {
            return (DeadLetter(entry, ex.Message), ex.Message);
        }
        catch (MqttNotConnectedException ex)
        {
            // Nothing left the agent: not an attempt.
            return (SendResult.Interrupted, ex.Message);
        }
        catch (MqttCommunicationException ex)
        {
            var interrupted = _interruptedSends[entry.CommandId] = _interruptedSends.GetValueOrDefault(entry.CommandId) + 1;
            if (interrupted < MaxInterruptedSends)
                return (SendResult.Interrupted, $"publish interrupted ({ex.Message})");
            var reason = $"the connection was cut each of the {interrupted} times it was sent ({ex.Message})";
            return (DeadLetter(entry, reason), reason);
        }
    }

    private SendResult DeadLetter(OutboxEntry entry, string reason)
    {
        _interruptedSends.Remove(entry.CommandId);
        _deadLetters.Add(entry, reason, _time.GetUtcNow().ToUnixTimeMilliseconds());
        _logger.LogError("Undeliverable {Kind} {Action} {CommandId} moved to the dead-letter file {Path}: {Reason}",
            entry.Kind, entry.Action, entry.CommandId, _deadLetters.Path, reason);
        return SendResult.DeadLettered;
    }

    private void Queue(OutboxEntry entry, string why)
    {
        _outbox.Add(entry);
        _logger.LogWarning("{Why}: {Kind} {Action} {CommandId} queued ({Depth} in the outbox)",
            why, entry.Kind, entry.Action, entry.CommandId, _outbox.Count);
    }

    /// <summary>Why the broker would refuse the packet outright (and drop the connection), or null.</summary>
    private static string? Unsendable(OutboxEntry entry)
    {
        // A response carries the utterance id only in its JSON payload when the id cannot be a user property.
        (string Name, string Value)[] fields = entry.IsResponse
            ? [("topic", entry.Topic)]
            : [ ("topic", entry.Topic), ("command_id", entry.CommandId), ("utterance_id", entry.UtteranceId),
                ("tier", entry.Tier), ("lang", entry.Lang)];
        foreach (var (name, value) in fields)
        {
            if (MqttStrings.Check(value) is { } why)
                return $"{name} cannot go into an MQTT packet: {why}";
        }
        return null;
    }

    private static async Task RaiseAsync(Func<OutboxEntry, Task>? handler, List<OutboxEntry> entries)
    {
        if (handler is null) return;
        foreach (var entry in entries)
            await handler(entry).ConfigureAwait(false);
    }

    public MqttApplicationMessage BuildCommandMessage(OutboxEntry entry, int expirySeconds) =>
        new MqttApplicationMessageBuilder()
            .WithTopic(entry.Topic)
            .WithPayload(Encoding.UTF8.GetBytes(entry.Payload))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType("application/json")
            .WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData)
            .WithMessageExpiryInterval((uint)expirySeconds)
            .WithResponseTopic(_topics.AckFor(entry.Topic))
            .WithCorrelationData(Encoding.UTF8.GetBytes(entry.CommandId))
            .WithUserProperty("command_id", Utf8(entry.CommandId))
            .WithUserProperty("utterance_id", Utf8(entry.UtteranceId))
            .WithUserProperty("tier", Utf8(entry.Tier))
            .WithUserProperty("lang", Utf8(entry.Lang))
            .Build();

    private static MqttApplicationMessage BuildResponseMessage(OutboxEntry entry, int? expirySeconds)
    {
        var builder = SpokenMessageBuilder(entry.Topic, entry.UtteranceId, Encoding.UTF8.GetBytes(entry.Payload));
        if (expirySeconds is { } expiry) builder = builder.WithMessageExpiryInterval((uint)expiry);
        return builder.Build();
    }

    public static MqttApplicationMessage BuildSpokenMessage(string topic, SpokenMessage message) =>
        SpokenMessageBuilder(topic, message.UtteranceId, Encoding.UTF8.GetBytes(SpokenPayload(message))).Build();

    private static MqttApplicationMessageBuilder SpokenMessageBuilder(string topic, string utteranceId, byte[] payload)
    {
        var builder = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType("application/json");
        // An id that cannot be a user property still reaches the cockpit, escaped, in the JSON payload.
        return MqttStrings.IsValid(utteranceId) ? builder.WithUserProperty("utterance_id", Utf8(utteranceId)) : builder;
    }

    private static string SpokenPayload(SpokenMessage message)
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
        return JsonSerializer.Serialize(payload, SpokenJson);
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
