using System.Diagnostics;
using CabinAgent.Pipeline;
using CabinAgent.Speech;
using CabinAgent.Speech.Audio;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CabinAgent.Host.Daemon;

/// <summary>
/// The daemon's ears: the configured audio source through endpointing and whisper, each utterance into the
/// same queue as transcripts from the bus. Without a usable whisper model the agent keeps running on the
/// transcript topic and says so at start-up and on /healthz.
/// </summary>
internal sealed class SpeechService(IServiceProvider services, UtteranceQueue queue, SpeechStatus status, TimeProvider time,
    ILogger<SpeechService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (status.Problem is not null || !status.Enabled)
        {
            logger.Log(status.Problem is null ? LogLevel.Information : LogLevel.Error, "Speech front off: {Reason}", status.Problem ?? status.State);
            return;
        }
        SpeechFrontEnd frontEnd;
        IAudioSource source;
        try
        {
            frontEnd = services.GetRequiredService<SpeechFrontEnd>();
            source = services.GetRequiredService<IAudioSource>();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            status.Fail($"speech front failed to start ({ex.Message}); transcripts on the bus still work");
            logger.LogError("{Problem}", status.Problem);
            return;
        }
        status.Watch(source);
        logger.LogInformation("Listening on {Source}", source.Description);
        try
        {
            await foreach (var heard in frontEnd.ListenAsync(source, stoppingToken))
            {
                await queue.SubmitAsync(new UtteranceInput(UtteranceInput.NewId(), heard.Transcript.Text, heard.Lang,
                    Stopwatch.GetTimestamp()) { AcceptedUnixMs = time.GetUtcNow().ToUnixTimeMilliseconds() }, null, stoppingToken);
            }
            status.Fail($"audio source {source.Description} ended");
            logger.LogWarning("Audio source {Source} ended", source.Description);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            status.Fail($"audio source failed: {ex.Message}");
            logger.LogError(ex, "Audio source failed");
        }
        finally
        {
            await source.DisposeAsync();
        }
    }
}

/// <summary>
/// Whether the speech front is on, off by configuration, or broken; reported on /healthz. A source that can lose its
/// connection (MQTT audio) adds its state: while it reconnects the speech front is degraded, and ok again once back.
/// </summary>
internal sealed class SpeechStatus : IHealthContributor
{
    private volatile IConnectedAudioSource? _connection;

    public SpeechStatus(string? modelPath)
    {
        if (string.IsNullOrWhiteSpace(modelPath))
            State = "off: no whisper model configured (Speech:ModelPath); transcripts come from the bus";
        else if (!File.Exists(modelPath))
            Problem = $"whisper model missing: {modelPath}; transcripts on the bus still work";
        else
        {
            Enabled = true;
            // "listening" only once the source exists (Watch): before that there is nothing to listen with, and a
            // connected source would otherwise show as listening before its first connection.
            State = "starting";
        }
    }

    public bool Enabled { get; }
    public string State { get; private set; } = "off";
    public string? Problem { get; private set; }

    public void Fail(string problem)
    {
        Problem = problem;
        State = "failed";
    }

    /// <summary>Follows the state of the source's connection, when it has one.</summary>
    public void Watch(IAudioSource source)
    {
        _connection = source as IConnectedAudioSource;
        State = "listening";
    }

    public (string Name, string State, string? Problem) Report()
    {
        if (Problem is not null) return ("speech", "failed", Problem);
        return _connection switch
        {
            { ConnectionState: AudioConnectionState.Reconnecting } c => ("speech", "reconnecting", NoAudio(c)),
            { ConnectionState: AudioConnectionState.Connecting, ConnectionProblem: not null } c => ("speech", "connecting", NoAudio(c)),
            { ConnectionState: AudioConnectionState.Connecting } => ("speech", "connecting", null),
            _ => ("speech", State, null),
        };
    }

    private static string NoAudio(IConnectedAudioSource source) =>
        $"audio source {source.Description}: {source.ConnectionProblem}; transcripts on the bus still work";
}
