using CabinAgent.Messaging;
using CabinAgent.Pipeline;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CabinAgent.Host.Daemon;

/// <summary>
/// The daemon's main loop: keeps the broker session, takes transcripts from the transcript topic through the
/// <see cref="TranscriptIntake"/> into the <see cref="UtteranceQueue"/>, and runs the queue.
/// </summary>
internal sealed class AgentService(
    MqttConnection connection,
    MqttAgentOutput output,
    TopicMap topics,
    UtterancePipeline pipeline,
    UtteranceQueue queue,
    TranscriptIntake intake,
    DaemonReadiness readiness,
    ILogger<AgentService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Connected += () =>
        {
            connected.TrySetResult();
            return Task.CompletedTask;
        };
        await connection.SubscribeAsync(topics.Transcript, intake.OnTranscript, stoppingToken, Acknowledgement.Manual);
        // The agent's own answers and status come back to it: how a restart knows which transcripts the broker already
        // has an answer to (see TranscriptIntake).
        await connection.SubscribeAsync(topics.Response, intake.OnAnswer, stoppingToken, Acknowledgement.Manual);
        await connection.SubscribeAsync(topics.Status, intake.OnStatus, stoppingToken);
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
            string.Join(" → ", pipeline.Tiers.Select(t => t.Name.Wire())));
        readiness.MarkStarted();
        await Task.WhenAll(queue.RunAsync(stoppingToken), RunIntakeAsync(connected.Task, stoppingToken));
    }

    /// <summary>
    /// Transcripts come only from the broker; what a crash left unfinished is run again once it is there too, so the
    /// answers reach the driver instead of failing against a broker that is not up yet.
    /// </summary>
    private async Task RunIntakeAsync(Task connected, CancellationToken stoppingToken)
    {
        try
        {
            if (!connection.IsConnected) await connected.WaitAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }
        await intake.RunAsync(stoppingToken);
    }
}
