using System.Threading.Channels;
using CabinAgent.Pipeline;

namespace CabinAgent.Host.Daemon;

/// <summary>
/// Where every utterance of the daemon goes, whatever its source (the transcript topic, the microphone).
/// Each one is admitted the moment it arrives (validation and the safety pre-check, so an emergency goes out at
/// once and cancels a model decode in flight); the rest are understood one at a time, in the order the driver
/// spoke them, so commands reach the ECUs in that order.
/// </summary>
internal sealed class UtteranceQueue(UtterancePipeline pipeline)
{
    private readonly Channel<UtterancePipeline.Admission> _waiting = Channel.CreateBounded<UtterancePipeline.Admission>(
        new BoundedChannelOptions(64) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly SemaphoreSlim _arrivals = new(1, 1);

    public async Task SubmitAsync(UtteranceInput input, CancellationToken ct)
    {
        // Admission in arrival order across sources: confirmations and emergencies see the driver's order.
        await _arrivals.WaitAsync(ct);
        UtterancePipeline.Admission admission;
        try
        {
            admission = await pipeline.AdmitAsync(input, ct);
        }
        finally
        {
            _arrivals.Release();
        }
        if (!admission.Finished)
            await _waiting.Writer.WriteAsync(admission, ct);
    }

    /// <summary>The single consumer: runs until stopped.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var admission in _waiting.Reader.ReadAllAsync(ct))
                await pipeline.CompleteAsync(admission, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }
}
