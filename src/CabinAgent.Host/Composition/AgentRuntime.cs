using System.Diagnostics;
using CabinAgent.Actions;
using CabinAgent.Host.Daemon;
using CabinAgent.Messaging;
using CabinAgent.Pipeline;
using CabinAgent.Safety;
using CabinAgent.Speech;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CabinAgent.Host.Composition;

/// <summary>What a run of the agent starts around the pipeline (which is always there, driven by whoever holds it).</summary>
[Flags]
public enum AgentLanes
{
    /// <summary>Only the alert dispatcher: a dry run feeds the pipeline and the safety layer itself and publishes nothing.</summary>
    None = 0,

    /// <summary>Open the durable outbox and connect to the broker.</summary>
    Broker = 1,

    /// <summary>The safety layer's timer on the wall clock (hold times, time-outs); a replay moves time itself instead.</summary>
    SafetyTimer = 2,

    /// <summary><c>telemetry/+</c> straight into the safety layer, on the MQTT receive loop.</summary>
    Telemetry = 4,

    /// <summary>Transcripts from the bus through the journaled intake into the understanding queue.</summary>
    Intake = 8,

    /// <summary>Everything the daemon runs (the microphone is <see cref="SpeechService"/>'s, and off without a model).</summary>
    Daemon = Broker | SafetyTimer | Telemetry | Intake,
}

/// <summary>
/// The agent at run time: starts and stops what <see cref="AgentComposition"/> built — the broker session, the outbox,
/// the safety layer's dispatcher and timer, the telemetry and transcript lanes — for the daemon, replay, eval and the
/// benches alike, so a replay or an eval runs the very objects the daemon runs.
/// </summary>
public sealed class AgentRuntime(IServiceProvider services, ILogger<AgentRuntime> logger) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _running = [];
    private AgentLanes _lanes;

    public UtterancePipeline Pipeline => services.GetRequiredService<UtterancePipeline>();
    public SafetyModule Safety => services.GetRequiredService<SafetyModule>();
    public ActionCatalog Catalog => services.GetRequiredService<ActionCatalog>();
    public TopicMap Topics => services.GetRequiredService<TopicMap>();
    public MqttConnection Connection => services.GetRequiredService<MqttConnection>();
    public MqttAgentOutput Output => services.GetRequiredService<MqttAgentOutput>();

    /// <summary>The whisper front end when <c>Speech:ModelPath</c> is set; loading it throws what the model's problem is.</summary>
    public SpeechFrontEnd? Speech =>
        string.IsNullOrWhiteSpace(AgentComposition.Options<SpeechOptions>(services).ModelPath) ? null : services.GetRequiredService<SpeechFrontEnd>();

    internal UtteranceQueue Queue => services.GetRequiredService<UtteranceQueue>();
    internal TranscriptIntake Intake => services.GetRequiredService<TranscriptIntake>();

    /// <summary>Every lane started, running until <see cref="StopAsync"/> or the start token ends them.</summary>
    public Task Completion => Task.WhenAll(_running);

    /// <summary>
    /// Starts <paramref name="lanes"/> and returns once the agent is up: connected, or — when it takes transcripts from
    /// the bus (the daemon) — knowing the broker is away and retrying in the background while commands queue. Without
    /// the intake a broker that cannot be reached throws (<c>replay</c> and <c>eval</c> report it and exit).
    /// </summary>
    /// <param name="onTranscript">Sees each transcript as it arrives, before the intake (the backlog bench stamps arrivals).</param>
    public async Task StartAsync(AgentLanes lanes, CancellationToken ct, Action<InboundMessage>? onTranscript = null)
    {
        _lanes = lanes;
        var run = CancellationTokenSource.CreateLinkedTokenSource(ct, _stop.Token).Token;
        var safety = Safety;
        var connection = Connection;
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Connected += () =>
        {
            connected.TrySetResult();
            return Task.CompletedTask;
        };

        if (lanes.HasFlag(AgentLanes.Telemetry))
            await SubscribeTelemetryAsync(safety.Layer, connection, run);
        if (lanes.HasFlag(AgentLanes.Intake))
            await SubscribeTranscriptsAsync(connection, onTranscript, run);

        _running.Add(Run(() => safety.Dispatcher.RunAsync(run)));
        if (lanes.HasFlag(AgentLanes.SafetyTimer))
            _running.Add(Run(() => safety.Layer.RunTimerAsync(run)));

        if (lanes.HasFlag(AgentLanes.Broker))
            await ConnectAsync(connection, degradedStartAllowed: lanes.HasFlag(AgentLanes.Intake), run);

        if (lanes.HasFlag(AgentLanes.Intake))
        {
            logger.LogInformation("Listening for transcripts on {Topic}; tiers: {Tiers}", Topics.Transcript,
                string.Join(" → ", Pipeline.Tiers.Select(t => t.Name.Wire())));
            _running.Add(Run(() => Queue.RunAsync(run)));
            _running.Add(Run(() => RunIntakeAsync(connection, connected.Task, run)));
        }
    }

    /// <summary>
    /// Lets the safety layer post what is pending, stops every lane, and (<paramref name="drainOutbox"/>) waits for
    /// commands queued during a broker outage to be sent or expire. Returns how many are still queued.
    /// </summary>
    public async Task<int> StopAsync(bool drainOutbox, CancellationToken ct)
    {
        while (Safety.Dispatcher.Pending > 0 && !ct.IsCancellationRequested)
            await Task.Delay(20, ct);
        await _stop.CancelAsync();
        try { await Completion; } catch (OperationCanceledException) { }
        if (!drainOutbox || !_lanes.HasFlag(AgentLanes.Broker)) return 0;
        var output = Output;
        var deadline = DateTime.UtcNow.AddSeconds(AgentComposition.Options<MqttOptions>(services).OutboxTtlSeconds + 1);
        while (output.OutboxDepth > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200, ct);
            await output.DrainOutboxAsync();
        }
        return output.OutboxDepth;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try { await Completion; } catch (OperationCanceledException) { }
        _stop.Dispose();
    }

    /// <summary>
    /// Bad telemetry is rejected, logged and counted inside the layer; it never overwrites good state. Ingesting is cheap
    /// and synchronous, so it runs on the receive loop itself, and the time is the message's arrival, so an alert's
    /// latency (and a budget miss) counts from there.
    /// </summary>
    private async Task SubscribeTelemetryAsync(SafetyLayer layer, MqttConnection connection, CancellationToken ct)
    {
        var time = services.GetRequiredService<TimeProvider>();
        var topics = Topics;
        await connection.SubscribeAsync(topics.TelemetryFilter, message =>
        {
            var arrived = time.GetUtcNow() - Stopwatch.GetElapsedTime(message.ReceivedTimestamp);
            layer.IngestTelemetry(message.Topic, message.Payload, arrived, message.Retained ? TelemetryOrigin.Retained : TelemetryOrigin.Live);
            return Task.CompletedTask;
        }, ct);
        logger.LogInformation("Safety layer listening on {Filter}", topics.TelemetryFilter);
    }

    /// <summary>
    /// The agent's own answers and status come back to it: how a restart knows which transcripts the broker already
    /// has an answer to (see <see cref="TranscriptIntake"/>).
    /// </summary>
    private async Task SubscribeTranscriptsAsync(MqttConnection connection, Action<InboundMessage>? onTranscript, CancellationToken ct)
    {
        var intake = Intake;
        var topics = Topics;
        Func<InboundMessage, Task> transcripts = onTranscript is null ? intake.OnTranscript : message =>
        {
            onTranscript(message);
            return intake.OnTranscript(message);
        };
        await connection.SubscribeAsync(topics.Transcript, transcripts, ct, Acknowledgement.Manual);
        await connection.SubscribeAsync(topics.Response, intake.OnAnswer, ct, Acknowledgement.Manual);
        await connection.SubscribeAsync(topics.Status, intake.OnStatus, ct);
    }

    private async Task ConnectAsync(MqttConnection connection, bool degradedStartAllowed, CancellationToken ct)
    {
        var output = Output;
        await output.StartAsync(ct);
        if (output.OutboxDepth > 0)
            logger.LogWarning("{Depth} commands from before the restart wait in the outbox", output.OutboxDepth);
        try
        {
            await connection.ConnectAsync(ct);
        }
        catch (Exception ex) when (degradedStartAllowed && ex is not OperationCanceledException)
        {
            // Degraded start: the safety layer and the pipeline are up; commands wait for the broker.
            logger.LogWarning("Broker unreachable at start-up ({Error}); retrying in the background", ex.Message);
            connection.StartInBackground();
        }
    }

    /// <summary>
    /// Transcripts come only from the broker; what a crash left unfinished is run again once it is there too, so the
    /// answers reach the driver instead of failing against a broker that is not up yet.
    /// </summary>
    private async Task RunIntakeAsync(MqttConnection connection, Task connected, CancellationToken ct)
    {
        try
        {
            if (!connection.IsConnected) await connected.WaitAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return;
        }
        await Intake.RunAsync(ct);
    }

    private static Task Run(Func<Task> lane) => Task.Run(lane, CancellationToken.None);
}
