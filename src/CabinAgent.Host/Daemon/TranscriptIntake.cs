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
/// </summary>
internal sealed class TranscriptIntake(IntakeJournal journal, UtteranceQueue queue, TimeProvider time, ILogger<TranscriptIntake> logger)
{
    /// <summary>At most this many transcripts share one fsync.</summary>
    private const int BatchSize = 256;

    // Unbounded, but not without limit: what waits here is not acknowledged yet, so the broker's in-flight window
    // (the client's receive maximum) bounds it.
    private readonly Channel<InboundMessage> _arrivals = Channel.CreateUnbounded<InboundMessage>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private long _accepted;
    private long _duplicates;
    private long _rerun;

    /// <summary>Transcripts journaled since start, redeliveries recognised and not run again, entries re-run after a restart.</summary>
    public (long Accepted, long Duplicates, long Rerun) Counts =>
        (Interlocked.Read(ref _accepted), Interlocked.Read(ref _duplicates), Interlocked.Read(ref _rerun));

    /// <summary>The subscription's handler, on the MQTT receive loop: hands the message over and returns.</summary>
    public Task OnMessage(InboundMessage message)
    {
        _arrivals.Writer.TryWrite(message);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Re-runs what an earlier process accepted and did not finish, then takes new transcripts until stopped.
    /// </summary>
    public async Task RunAsync(CancellationToken ct)
    {
        foreach (var entry in journal.UnfinishedEntries())
        {
            Interlocked.Increment(ref _rerun);
            logger.LogWarning("Running utterance {UtteranceId} again: accepted at {AcceptedUnixMs} before a restart, never answered",
                entry.Id, entry.AcceptedUnixMs);
            await queue.SubmitAsync(ToInput(entry, Stopwatch.GetTimestamp()), _ => journal.Complete(entry.Key), ct);
        }

        var batch = new List<InboundMessage>(BatchSize);
        try
        {
            while (await _arrivals.Reader.WaitToReadAsync(ct))
            {
                batch.Clear();
                while (batch.Count < BatchSize && _arrivals.Reader.TryRead(out var message)) batch.Add(message);
                await TakeAsync(batch, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task TakeAsync(List<InboundMessage> batch, CancellationToken ct)
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
