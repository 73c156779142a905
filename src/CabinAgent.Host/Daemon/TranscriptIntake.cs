using System.Diagnostics;
using System.Threading.Channels;
using CabinAgent.Messaging;
using CabinAgent.Pipeline;
using Microsoft.Extensions.Logging;

namespace CabinAgent.Host.Daemon;

/// <summary>
/// The transcript lane: transcripts from <c>agent/transcript</c> into the durable <see cref="IntakeJournal"/>, then
/// acknowledged to the broker, then admitted into the <see cref="UtteranceQueue"/> — three tasks (triage, journal,
/// admission), so neither a slow fsync nor a slow admission holds up the MQTT receive loop or the acknowledgements.
/// <para>The MQTT receive loop only hands each message over (<see cref="OnMessage"/>); everything that takes time —
/// the fsync, the admission — happens on this lane's own task, so telemetry and ECU acknowledgements never wait
/// behind a burst of transcripts. The broker hears "received" only once the transcript is on disk: a kill before that
/// makes it send the transcript again, a kill after it re-runs the unfinished journal entry at the next start.</para>
/// <para>The agent also hears its own answers (<c>agent/response</c>, in the same persistent session): each one marks
/// its transcript answered in the journal before the broker is told it arrived. A kill just after an answer reached
/// the broker therefore leaves that echo waiting in the session, and at the next start nothing is re-run until the
/// echo of the agent's own "online" shows that everything the broker kept for it has arrived.</para>
/// <para>Emergencies jump the line: a triage task parses each transcript and scans it for an emergency phrase (microseconds,
/// off the receive loop), and an emergency goes to a lane of its own that the intake serves before every next
/// transcript, so a call for help waits for the triage of what came before it, not for a backlog of a thousand to be
/// journaled and admitted.</para>
/// </summary>
/// <param name="isEmergency">The safety layer's emergency phrase check (pure, deterministic).</param>
internal sealed class TranscriptIntake(IntakeJournal journal, UtteranceQueue queue, Func<string, bool> isEmergency, TimeProvider time,
    ILogger<TranscriptIntake> logger)
{
    /// <summary>At most this many transcripts share one fsync.</summary>
    private const int BatchSize = 256;

    /// <summary>How long a start waits for the echo of its own "online" before re-running unfinished entries anyway.</summary>
    private static readonly TimeSpan CatchUpTimeout = TimeSpan.FromSeconds(10);

    private static readonly byte[] Online = System.Text.Encoding.UTF8.GetBytes(MqttConnection.StatusPayload("online"));

    /// <param name="IsAnswer">One of the agent's own answers coming back, not a transcript.</param>
    /// <param name="Transcript">The transcript as parsed on arrival (null for an answer, or a wake-up for the urgent lane).</param>
    private readonly record struct Arrival(InboundMessage? Message, bool IsAnswer, TranscriptPayload.Parsed? Transcript = null);

    // Unbounded, but not without limit: what waits here is not acknowledged yet, so the broker's in-flight window
    // (the client's receive maximum) bounds it.
    private readonly Channel<InboundMessage> _incoming = Channel.CreateUnbounded<InboundMessage>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Channel<Arrival> _arrivals = Channel.CreateUnbounded<Arrival>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Channel<Arrival> _urgent = Channel.CreateUnbounded<Arrival>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    // Journaled and acknowledged, waiting to be admitted: apart from the journal's task, so a slow admission never holds
    // back the acknowledgements (the broker delivers nothing more while its in-flight window is full of unacknowledged
    // transcripts — ECU acknowledgements included). A null entry only wakes the admission task for an urgent one.
    private readonly Channel<Admission?> _admissions = Channel.CreateUnbounded<Admission?>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Channel<Admission> _urgentAdmissions = Channel.CreateUnbounded<Admission>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    private sealed record Admission(IntakeEntry Entry, long ReceivedTimestamp);

    private readonly TaskCompletionSource _caughtUp = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _accepted;
    private long _duplicates;
    private long _rerun;

    /// <summary>Transcripts journaled since start, redeliveries recognised and not run again, entries re-run after a restart.</summary>
    public (long Accepted, long Duplicates, long Rerun) Counts =>
        (Interlocked.Read(ref _accepted), Interlocked.Read(ref _duplicates), Interlocked.Read(ref _rerun));

    /// <summary>The transcript subscription's handler, on the MQTT receive loop: hands the message over and returns.</summary>
    public Task OnTranscript(InboundMessage message)
    {
        _incoming.Writer.TryWrite(message);
        return Task.CompletedTask;
    }

    /// <summary>Parses each transcript and sends it to the urgent lane or the ordinary one.</summary>
    private async Task TriageAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var message in _incoming.Reader.ReadAllAsync(ct))
            {
                TranscriptPayload.Parsed transcript;
                try
                {
                    transcript = TranscriptPayload.Parse(message.Payload, message.ReceivedTimestamp);
                }
                catch (Exception ex)
                {
                    // Never let one payload end the lane: it is answered with the reason like any unreadable one.
                    logger.LogError(ex, "Transcript could not be read");
                    transcript = TranscriptPayload.Unreadable($"transcript could not be read ({ex.GetType().Name})", message.ReceivedTimestamp);
                }
                var arrival = new Arrival(message, IsAnswer: false, transcript);
                if (transcript.Input.Text is { } text && isEmergency(text))
                {
                    _urgent.Writer.TryWrite(arrival);
                    _arrivals.Writer.TryWrite(default); // wakes the intake if it is idle
                }
                else
                {
                    _arrivals.Writer.TryWrite(arrival);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>The handler of the agent's own answers coming back (manual acknowledgement, like transcripts).</summary>
    public Task OnAnswer(InboundMessage message)
    {
        _arrivals.Writer.TryWrite(new Arrival(message, IsAnswer: true));
        return Task.CompletedTask;
    }

    /// <summary>
    /// The status topic: the agent's own "online", forwarded live (not retained), comes after everything the broker kept
    /// for the session while the agent was away.
    /// </summary>
    public Task OnStatus(InboundMessage message)
    {
        if (!message.Retained && message.Payload.AsSpan().SequenceEqual(Online)) _caughtUp.TrySetResult();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Re-runs what an earlier process accepted and never answered, then takes new transcripts until stopped. Call once
    /// connected.
    /// </summary>
    public Task RunAsync(CancellationToken ct) => Task.WhenAll(TriageAsync(ct), IntakeAsync(ct), AdmitAsync(ct));

    /// <summary>Admits journaled transcripts in arrival order, an emergency before any ordinary one still waiting.</summary>
    private async Task AdmitAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var next in _admissions.Reader.ReadAllAsync(ct))
            {
                while (_urgentAdmissions.Reader.TryRead(out var urgent)) await SubmitAsync(urgent, ct);
                if (next is not null) await SubmitAsync(next, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private Task SubmitAsync(Admission admission, CancellationToken ct) =>
        queue.SubmitAsync(ToInput(admission.Entry, admission.ReceivedTimestamp), _ => journal.Complete(admission.Entry.Key), ct);

    private async Task IntakeAsync(CancellationToken ct)
    {
        try
        {
            var held = journal.Unfinished > 0 ? await CatchUpAsync(ct) : [];
            foreach (var entry in journal.UnfinishedEntries())
            {
                Interlocked.Increment(ref _rerun);
                logger.LogWarning("Running utterance {UtteranceId} again: accepted at {AcceptedUnixMs} before a restart, never answered",
                    entry.Id, entry.AcceptedUnixMs);
                _admissions.Writer.TryWrite(new Admission(entry, Stopwatch.GetTimestamp()));
            }
            foreach (var chunk in held.Chunk(BatchSize)) await TakeAsync(chunk, ct);

            var batch = new List<Arrival>(BatchSize);
            while (await _arrivals.Reader.WaitToReadAsync(ct))
            {
                batch.Clear();
                while (batch.Count < BatchSize && _arrivals.Reader.TryRead(out var arrival)) batch.Add(arrival);
                await TakeAsync(batch, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Waits until the broker has delivered what it kept for the session, takes the answers among it (so the transcripts
    /// they answer are not run again) and returns the transcripts, which wait until the unfinished entries are admitted.
    /// </summary>
    private async Task<List<Arrival>> CatchUpAsync(CancellationToken ct)
    {
        if (await Task.WhenAny(_caughtUp.Task, Task.Delay(CatchUpTimeout, time, ct)) != _caughtUp.Task)
        {
            ct.ThrowIfCancellationRequested();
            logger.LogWarning("The agent's own status did not come back within {Timeout} s (can it read its agent/status and " +
                "agent/response topics?): running unfinished transcripts again; one answered just before the restart may be answered twice",
                CatchUpTimeout.TotalSeconds);
        }
        var answers = new List<Arrival>();
        var held = new List<Arrival>();
        while (_arrivals.Reader.TryRead(out var arrival))
            if (arrival.Message is not null) (arrival.IsAnswer ? answers : held).Add(arrival);
        await TakeAsync(answers, ct);
        return held;
    }

    private async Task TakeAsync(IReadOnlyList<Arrival> arrivals, CancellationToken ct)
    {
        await TakeUrgentAsync(ct);
        var batch = new List<Arrival>(arrivals.Count);
        foreach (var arrival in arrivals)
        {
            if (arrival.Message is not { } message) continue;
            if (!arrival.IsAnswer)
            {
                batch.Add(arrival);
                continue;
            }
            if (AnsweredUtterance(message.Payload) is { } utteranceId) journal.Answered(utteranceId);
            await message.AcknowledgeAsync(ct);
        }
        if (batch.Count > 0) await TakeTranscriptsAsync(batch, urgent: false, ct);
    }

    /// <summary>Emergencies that arrived meanwhile: journaled and acknowledged before anything else, and admitted first.</summary>
    private async Task TakeUrgentAsync(CancellationToken ct)
    {
        List<Arrival>? urgent = null;
        while (_urgent.Reader.TryRead(out var arrival)) (urgent ??= []).Add(arrival);
        if (urgent is not null) await TakeTranscriptsAsync(urgent, urgent: true, ct);
    }

    private static string? AnsweredUtterance(byte[] payload)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(payload);
            return document.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object &&
                document.RootElement.TryGetProperty("utterance_id", out var id) && id.ValueKind == System.Text.Json.JsonValueKind.String
                ? id.GetString()
                : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private async Task TakeTranscriptsAsync(List<Arrival> arrivals, bool urgent, CancellationToken ct)
    {
        var acceptedAt = time.GetUtcNow().ToUnixTimeMilliseconds();
        var batch = arrivals.Select(a => a.Message!).ToList();
        var candidates = arrivals.Select(a => (Entry: ToEntry(a.Message!, a.Transcript!, acceptedAt), a.Message!.Redelivered, a.Message!.Connection))
            .ToList();
        var duplicates = journal.Accept(candidates);

        // On disk: now the broker may forget them.
        for (var i = 0; i < batch.Count; i++)
        {
            var acknowledged = await batch[i].AcknowledgeAsync(ct);
            if (acknowledged && duplicates[i] is null) journal.Acknowledged(candidates[i].Entry.Key);
        }

        for (var i = 0; i < batch.Count; i++)
        {
            var entry = candidates[i].Entry;
            if (duplicates[i] is { } original)
            {
                Interlocked.Increment(ref _duplicates);
                logger.LogInformation("Transcript redelivered by the broker (utterance {UtteranceId}, accepted at {AcceptedUnixMs}): not run again",
                    original.Id, original.AcceptedUnixMs);
                continue;
            }
            Interlocked.Increment(ref _accepted);
            var admission = new Admission(entry, batch[i].ReceivedTimestamp);
            if (!urgent)
            {
                _admissions.Writer.TryWrite(admission);
                continue;
            }
            _urgentAdmissions.Writer.TryWrite(admission);
            _admissions.Writer.TryWrite(null);
        }
    }

    private static IntakeEntry ToEntry(InboundMessage message, TranscriptPayload.Parsed transcript, long acceptedAt)
    {
        var (input, hasSourceId) = transcript;
        var content = IntakeEntry.ContentHash(message.Payload);
        return new IntakeEntry(hasSourceId ? "c:" + content : "u:" + input.Id, content, hasSourceId, input.Id, input.Text, input.Lang,
            input.DecodeError, input.IdProblem, acceptedAt);
    }

    private static UtteranceInput ToInput(IntakeEntry entry, long receivedTimestamp) =>
        new(entry.Id, entry.Text, entry.Lang, receivedTimestamp, entry.DecodeError)
        {
            AcceptedUnixMs = entry.AcceptedUnixMs,
            IdProblem = entry.IdProblem,
        };
}
