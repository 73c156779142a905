using System.Threading.Channels;
using CabinAgent.Host.Composition;
using CabinAgent.Pipeline;
using Microsoft.Extensions.Options;

namespace CabinAgent.Host.Daemon;

/// <summary>
/// Where every utterance of the daemon goes, whatever its source (the transcript topic, the microphone).
/// Each one is admitted the moment it arrives (validation and the safety pre-check, so an emergency goes out at
/// once and cancels a model decode in flight); the rest are understood one at a time, in the order the driver
/// spoke them, so commands reach the ECUs in that order.
/// <para>Nothing here waits for room: when <see cref="AgentOptions.QueueCapacity"/> utterances already wait for the
/// tiers, the next is answered <c>rejected</c>, reason <c>busy</c>, by a task of its own, so a flood of transcripts
/// cannot hold up the admission (and the emergency check) of the ones behind it.</para>
/// </summary>
internal sealed class UtteranceQueue
{
    private readonly UtterancePipeline _pipeline;
    private readonly Channel<Queued> _waiting;
    private readonly Channel<Queued> _shed = Channel.CreateUnbounded<Queued>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _arrivals = new(1, 1);
    private long _shedCount;

    /// <param name="Finished">Called once with the final record (the intake marks its journal entry done).</param>
    private readonly record struct Queued(UtterancePipeline.Admission.Pending Admission, Action<UtteranceRecord>? Finished);

    public UtteranceQueue(UtterancePipeline pipeline, IOptions<AgentOptions> options)
    {
        _pipeline = pipeline;
        _waiting = Channel.CreateBounded<Queued>(new BoundedChannelOptions(options.Value.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite then says "full" instead of dropping anything
        });
    }

    private long _busySinceMs = -1;

    /// <summary>The pipeline the queue admits and completes with: the composition root's one instance.</summary>
    public UtterancePipeline Pipeline => _pipeline;

    /// <summary>How long the tiers have been on the utterance in hand (monotonic), or null when none is in hand.</summary>
    public TimeSpan? BusyFor => Volatile.Read(ref _busySinceMs) is var since and >= 0
        ? TimeSpan.FromMilliseconds(Environment.TickCount64 - since)
        : null;

    /// <summary>Utterances answered "busy" since start.</summary>
    public long Shed => Interlocked.Read(ref _shedCount);

    /// <summary>
    /// Admits <paramref name="input"/> and queues it, or sheds it. Returns once it is admitted; the outcome goes to
    /// <paramref name="finished"/>.
    /// </summary>
    public async Task SubmitAsync(UtteranceInput input, Action<UtteranceRecord>? finished, CancellationToken ct)
    {
        // Admission in arrival order across sources: confirmations and emergencies see the driver's order.
        await _arrivals.WaitAsync(ct);
        UtterancePipeline.Admission admitted;
        try
        {
            admitted = await _pipeline.AdmitAsync(input, ct);
        }
        finally
        {
            _arrivals.Release();
        }
        if (admitted is not UtterancePipeline.Admission.Pending admission)
        {
            finished?.Invoke(((UtterancePipeline.Admission.Answered)admitted).Record);
            return;
        }
        if (_waiting.Writer.TryWrite(new Queued(admission, finished))) return;
        Interlocked.Increment(ref _shedCount);
        _shed.Writer.TryWrite(new Queued(admission, finished));
    }

    /// <summary>The consumers (the understanding tiers, one at a time; the busy answers): run until stopped.</summary>
    public Task RunAsync(CancellationToken ct) => Task.WhenAll(
        ConsumeAsync(_waiting.Reader, CompleteTimedAsync, ct),
        ConsumeAsync(_shed.Reader, _pipeline.RejectBusyAsync, ct));

    private async Task<UtteranceRecord> CompleteTimedAsync(UtterancePipeline.Admission.Pending admission, CancellationToken ct)
    {
        Volatile.Write(ref _busySinceMs, Environment.TickCount64);
        try
        {
            return await _pipeline.CompleteAsync(admission, ct);
        }
        finally
        {
            Volatile.Write(ref _busySinceMs, -1);
        }
    }

    private static async Task ConsumeAsync(ChannelReader<Queued> reader,
        Func<UtterancePipeline.Admission.Pending, CancellationToken, Task<UtteranceRecord>> finish, CancellationToken ct)
    {
        try
        {
            await foreach (var queued in reader.ReadAllAsync(ct))
            {
                var record = await finish(queued.Admission, ct);
                queued.Finished?.Invoke(record);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }
}
