using System.Text;
using System.Text.Json;
using CabinAgent.Pipeline;
using MQTTnet;
using MQTTnet.Protocol;

namespace CabinAgent.Messaging;

/// <summary>
/// Publishes commands and spoken responses on the vehicle bus, per the contract in docs/mqtt.md:
/// the payload is exactly the command JSON; ids travel as MQTT 5 user properties and correlation data.
/// </summary>
public sealed class MqttAgentOutput(MqttConnection connection, TopicMap topics, MqttOptions options) : IAgentOutput
{
    public async Task<string> PublishCommandAsync(OutgoingCommand command, CancellationToken cancellationToken)
    {
        var topic = topics.ForAction(command.Action.Name);
        await connection.PublishAsync(BuildCommandMessage(topic, command, options.CommandExpirySeconds, topics.Ack), cancellationToken)
            .ConfigureAwait(false);
        return topic;
    }

    public Task SayAsync(SpokenMessage message, CancellationToken cancellationToken) =>
        connection.PublishAsync(BuildSpokenMessage(topics.Response, message), cancellationToken);

    public static MqttApplicationMessage BuildCommandMessage(string topic, OutgoingCommand command, int expirySeconds, string ackTopic) =>
        new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(Encoding.UTF8.GetBytes(command.Command.ToJson()))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType("application/json")
            .WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData)
            .WithMessageExpiryInterval((uint)expirySeconds)
            .WithResponseTopic(ackTopic)
            .WithCorrelationData(Encoding.UTF8.GetBytes(command.CommandId))
            .WithUserProperty("command_id", Utf8(command.CommandId))
            .WithUserProperty("utterance_id", Utf8(command.UtteranceId))
            .WithUserProperty("tier", Utf8(command.Tier))
            .WithUserProperty("lang", Utf8(command.Lang))
            .Build();

    public static MqttApplicationMessage BuildSpokenMessage(string topic, SpokenMessage message) =>
        new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string>
            {
                ["utterance_id"] = message.UtteranceId,
                ["kind"] = message.Kind,
                ["lang"] = message.Lang,
                ["text"] = message.Text,
            }, SpokenJson))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType("application/json")
            .WithUserProperty("utterance_id", Utf8(message.UtteranceId))
            .Build();

    private static ReadOnlyMemory<byte> Utf8(string value) => Encoding.UTF8.GetBytes(value);

    private static readonly JsonSerializerOptions SpokenJson = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}

/// <summary><c>--dry-run</c>: resolves the topic a command would go to and publishes nothing.</summary>
public sealed class DryRunOutput(TopicMap topics) : IAgentOutput
{
    public Task<string> PublishCommandAsync(OutgoingCommand command, CancellationToken cancellationToken) =>
        Task.FromResult(topics.ForAction(command.Action.Name));

    public Task SayAsync(SpokenMessage message, CancellationToken cancellationToken) => Task.CompletedTask;
}
