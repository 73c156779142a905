namespace CabinAgent.Speech.Audio;

/// <summary>
/// Where audio comes from: a WAV file, a raw PCM stream (stdin, a FIFO, arecord), the cockpit's
/// MQTT audio topic. Every source delivers 16 kHz mono float chunks of any length, converting at
/// its edge; the sequence ends when the source does (end of file, closed pipe) or on cancellation.
/// An empty chunk means "the utterance ended here" (push-to-talk released): the endpointer cuts at once.
/// </summary>
public interface IAudioSource : IAsyncDisposable
{
    /// <summary>For logs: "wav:/path", "raw:stdin", "mqtt:vehicle/v1/audio/in".</summary>
    string Description { get; }

    IAsyncEnumerable<ReadOnlyMemory<float>> ReadAsync(CancellationToken cancellationToken);
}
