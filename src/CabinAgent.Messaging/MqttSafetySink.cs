using System.Text;
using CabinAgent.Actions;
using CabinAgent.Pipeline;
using CabinAgent.Safety;
using MQTTnet;
using MQTTnet.Protocol;

namespace CabinAgent.Messaging;

/// <summary>
/// The safety layer's <see cref="IAlertSink"/> over MQTT: the alert JSON on <c>safety/alert</c>, then its spoken text
/// on <c>agent/response</c> (kind <c>alert</c>); notices (confirmation timeouts) only on <c>agent/response</c>.
/// Both QoS 1; the calls return when the broker acknowledged.
/// </summary>
public sealed class MqttSafetySink(MqttConnection connection, TopicMap topics) : IAlertSink
{
    public async ValueTask PublishAlertAsync(SafetyAlert alert, CancellationToken cancellationToken)
    {
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
}
