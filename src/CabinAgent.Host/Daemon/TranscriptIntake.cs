using System.Diagnostics;
using System.Threading.Channels;
using CabinAgent.Messaging;
using CabinAgent.Pipeline;
using Microsoft.Extensions.Logging;

namespace CabinAgent.Host.Daemon;

/// <summary>
/// The transcript lane: transcripts from <c>agent/transcript</c> into the durable <see cref="IntakeJournal"/>, then
/// acknowledged to the broker, then admitted into the <see cref="UtteranceQueue"/>.
/// <para>The MQTT receive loop only hands each message over (<see cref="OnMessage"/>); everything that takes time —
/// the fsync, the admission — happens on this lane's own task, so telemetry and ECU acknowledgements never wait
/// behind a burst of transcripts. The broker hears "received" only once the transcript is on disk: a kill before that
/// makes it send the transcript again, a kill after it re-runs the unfinished journal entry at the next start.</para>
/// <para>The agent also hears its own answers (<c>agent/response</c>, in the same persistent session): each one marks
/// its transcript answered in the journal before the broker is told it arrived. A kill just after an answer reached
/// the broker therefore leaves that echo waiting in the session, and at the next start nothing is re-run until the
/// echo of the agent's own "online" shows that everything the broker kept for it has arrived.</para>
/// </summary>
internal sealed class TranscriptIntake(IntakeJournal journal, UtteranceQueue queue, TimeProvider time, ILogger<TranscriptIntake> logger)
{
    /// <summary>At most this many transcripts share one fsync.</summary>
    private const int BatchSize = 256;

    /// <summary>How long a start waits for the echo of its own "online" before re-running unfinished entries anyway.</summary>
    private static readonly TimeSpan CatchUpTimeout = TimeSpan.FromSeconds(10);

    private static readonly byte[] Online = System.Text.Encoding.UTF8.GetBytes(MqttConnection.StatusPayload("online"));

    /// <param name="IsAnswer">One of the agent's own answers coming back, not a transcript.</param>
    private readonly record struct Arrival(InboundMessage Message, bool IsAnswer);

    // Unbounded, but not without limit: what waits here is not acknowledged yet, so the broker's in-flight window
    // (the client's receive maximum) bounds it.
    private readonly Channel<Arrival> _arrivals = Channel.CreateUnbounded<Arrival>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
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
        _arrivals.Writer.TryWrite(new Arrival(message, IsAnswer: false));
        return Task.CompletedTask;
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
    public async Task RunAsync(CancellationToken ct)
    {
        try
        {
            var held = journal.Unfinished > 0 ? await CatchUpAsync(ct) : [];
            foreach (var entry in journal.UnfinishedEntries())
            {
                Interlocked.Increment(ref _rerun);
                logger.LogWarning("Running utterance {UtteranceId} again: accepted at {AcceptedUnixMs} before a restart, never answered",
                    entry.Id, entry.AcceptedUnixMs);
                await queue.SubmitAsync(ToInput(entry, Stopwatch.GetTimestamp()), _ => journal.Complete(entry.Key), ct);
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
        while (_arrivals.Reader.TryRead(out var arrival)) (arrival.IsAnswer ? answers : held).Add(arrival);
        await TakeAsync(answers, ct);
        return held;
    }

    private async Task TakeAsync(IReadOnlyList<Arrival> arrivals, CancellationToken ct)
    {
        var batch = new List<InboundMessage>(arrivals.Count);
        foreach (var arrival in arrivals)
        {
            if (!arrival.IsAnswer)
            {
                batch.Add(arrival.Message);
                continue;
            }
            if (AnsweredUtterance(arrival.Message.Payload) is { } utteranceId) journal.Answered(utteranceId);
            await arrival.Message.AcknowledgeAsync(ct);
        }
        if (batch.Count > 0) await TakeTranscriptsAsync(batch, ct);
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

    private async Task TakeTranscriptsAsync(List<InboundMessage> batch, CancellationToken ct)
    {
        var acceptedAt = time.GetUtcNow().ToUnixTimeMilliseconds();
        var candidates = batch.Select(m => (Entry: ToEntry(m, acceptedAt), m.Redelivered, m.Connection)).ToList();
        var duplicates = journal.Accept(candidates);

        // On disk: now the broker may forget them. All acknowledgements first: they are quick, admission may publish.
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
            await queue.SubmitAsync(ToInput(entry, batch[i].ReceivedTimestamp), _ => journal.Complete(entry.Key), ct);
        }
    }

    private static IntakeEntry ToEntry(InboundMessage message, long acceptedAt)
    {
        var (input, hasSourceId) = TranscriptPayload.Parse(message.Payload, message.ReceivedTimestamp);
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
