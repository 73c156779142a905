using System.Text;
using CabinAgent.Actions;
using CabinAgent.Pipeline;
using CabinAgent.Safety;
using MQTTnet;
using MQTTnet.Protocol;

namespace CabinAgent.Messaging;

/// <summary>
/// The safety layer's <see cref="IAlertSink"/> over MQTT: an alert's <c>EMERGENCY_CALL</c> (crash signal) on its action
/// topic, then the alert JSON on <c>safety/alert</c>, then its spoken text on <c>agent/response</c> (kind <c>alert</c>);
/// notices (confirmation timeouts) only on <c>agent/response</c>.
/// Both QoS 1; the calls return when the broker acknowledged.
/// </summary>
public sealed class MqttSafetySink(MqttConnection connection, TopicMap topics) : IAlertSink
{
    public async ValueTask PublishAlertAsync(SafetyAlert alert, CancellationToken cancellationToken)
    {
        if (alert.Call is { } call)
        {
            // The call first: it is what the alert is for. Its id comes from the rule and the due time, so a retried
            // publish of the same alert gives the same command_id and the ECU deduplicates it.
            var callId = $"safety-{alert.Rule}-{alert.TriggeredAt.ToUnixTimeMilliseconds()}";
            await connection.PublishAsync(new MqttApplicationMessageBuilder()
                .WithTopic(topics.ForAction(call.Action))
                .WithPayload(Encoding.UTF8.GetBytes(call.ToJson()))
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .WithContentType("application/json")
                .WithPayloadFormatIndicator(MqttPayloadFormatIndicator.CharacterData)
                .WithUserProperty("command_id", Utf8(UtteranceInput.CommandIdFor(new UtteranceInput(callId, call.Action))))
                .WithUserProperty("utterance_id", Utf8(callId))
                .WithUserProperty("tier", Utf8("safety"))
                .WithUserProperty("lang", Utf8(alert.Lang))
                .Build(), cancellationToken).ConfigureAwait(false);
        }
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topics.SafetyAlert)
            .WithPayload(Encoding.UTF8.GetBytes(alert.ToJson().ToJsonString(CommandJson.Options)))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType("application/json")
            .Build();
        await connection.PublishAsync(message, cancellationToken).ConfigureAwait(false);
        await connection.PublishAsync(MqttAgentOutput.BuildSpokenMessage(topics.Response,
            new SpokenMessage("safety", "alert", alert.Lang, alert.Spoken)), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask SpeakAsync(SpokenNotice notice, CancellationToken cancellationToken) =>
        await connection.PublishAsync(MqttAgentOutput.BuildSpokenMessage(topics.Response,
            new SpokenMessage(notice.UtteranceId ?? "safety", "confirmation", notice.Lang, notice.Text)), cancellationToken).ConfigureAwait(false);

    private static ReadOnlyMemory<byte> Utf8(string value) => Encoding.UTF8.GetBytes(value);
}
