using System.Text.Json;
using System.Threading.Channels;
using System.Text.Json.Nodes;
using CabinAgent.Messaging;
using CabinAgent.Pipeline;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CabinAgent.Host.Daemon;

/// <summary>
/// The daemon's main loop: keeps the broker session and takes transcripts from the transcript topic.
/// Each utterance is admitted the moment it arrives (validation and the safety pre-check, so an emergency
/// goes out at once and cancels a model decode in flight); the rest are understood one at a time, in the
/// order the driver spoke them, so commands reach the ECUs in that order.
/// </summary>
internal sealed class AgentService(
    MqttConnection connection,
    MqttAgentOutput output,
    TopicMap topics,
    UtterancePipeline pipeline,
    ILogger<AgentService> logger) : BackgroundService
{
    private readonly Channel<UtterancePipeline.Admission> _waiting = Channel.CreateBounded<UtterancePipeline.Admission>(
        new BoundedChannelOptions(64) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

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
        try
        {
            await foreach (var admission in _waiting.Reader.ReadAllAsync(stoppingToken))
                await pipeline.CompleteAsync(admission, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task OnTranscriptAsync(InboundMessage message, CancellationToken ct)
    {
        var admission = await pipeline.AdmitAsync(ParseTranscript(message), ct);
        if (!admission.Finished)
            await _waiting.Writer.WriteAsync(admission, ct);
    }

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
                if (JsonNode.Parse(text) is JsonObject obj)
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
