using System.Text.Json;
using System.Text.Json.Nodes;
using CabinAgent.Messaging;
using CabinAgent.Pipeline;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CabinAgent.Host.Daemon;

/// <summary>
/// The daemon's main loop: keeps the broker session, takes transcripts from the transcript topic into the
/// <see cref="UtteranceQueue"/>, and runs the queue.
/// </summary>
internal sealed class AgentService(
    MqttConnection connection,
    MqttAgentOutput output,
    TopicMap topics,
    UtterancePipeline pipeline,
    UtteranceQueue queue,
    ILogger<AgentService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await connection.SubscribeAsync(topics.Transcript, message => OnTranscriptAsync(message, stoppingToken), stoppingToken);
        await output.StartAsync(stoppingToken);
        if (output.OutboxDepth > 0)
            logger.LogWarning("{Depth} commands from before the restart wait in the outbox", output.OutboxDepth);
        try
        {
            await connection.ConnectAsync(stoppingToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Degraded start: the safety layer and the pipeline are up; commands wait for the broker.
            logger.LogWarning("Broker unreachable at start-up ({Error}); retrying in the background", ex.Message);
            connection.StartInBackground();
        }
        logger.LogInformation("Listening for transcripts on {Topic}; tiers: {Tiers}", topics.Transcript,
            string.Join(" → ", pipeline.Tiers.Select(t => t.Name)));
        await queue.RunAsync(stoppingToken);
    }

    private Task OnTranscriptAsync(InboundMessage message, CancellationToken ct) => queue.SubmitAsync(ParseTranscript(message), ct);

    /// <summary>
    /// A transcript is either plain UTF-8 text or <c>{"id", "text", "lang"}</c>. Anything unreadable still
    /// becomes an utterance, so the pipeline rejects it with a reason and it shows in the records and metrics.
    /// </summary>
    internal static UtteranceInput ParseTranscript(InboundMessage message)
    {
        if (!TranscriptValidator.TryDecode(message.Payload, out var text, out var reason))
            return new UtteranceInput(UtteranceInput.NewId(), null, null, message.ReceivedTimestamp, DecodeError: reason);
        if (text.TrimStart().StartsWith('{'))
        {
            try
            {
                if (JsonNode.Parse(text, documentOptions: TranscriptValidator.StrictJson) is JsonObject obj)
                {
                    var id = obj["id"] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length is > 0 and <= 128
                        ? s : UtteranceInput.NewId();
                    var body = obj["text"] is JsonValue tv && tv.TryGetValue<string>(out var t) ? t : null;
                    var lang = obj["lang"] is JsonValue lv && lv.TryGetValue<string>(out var l) ? l : null;
                    return new UtteranceInput(id, body, lang, message.ReceivedTimestamp);
                }
            }
            catch (JsonException)
            {
                // Not JSON after all: treat it as text.
            }
        }
        return new UtteranceInput(UtteranceInput.NewId(), text, null, message.ReceivedTimestamp);
    }
}
