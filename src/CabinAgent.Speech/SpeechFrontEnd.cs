using System.Runtime.CompilerServices;
using CabinAgent.Speech.Audio;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CabinAgent.Speech;

/// <summary>One utterance heard: where it was in the stream, and what the recognizer made of it.</summary>
public sealed record HeardUtterance(SpeechSegment Segment, Transcript Transcript)
{
    /// <summary>The language for the understanding tiers: <c>zh</c> or <c>en</c>, null for anything else.</summary>
    public string? Lang => Transcript.Language is "zh" or "en" ? Transcript.Language : null;
}

/// <summary>
/// The speech front of the pipeline: audio source → endpointer → recognizer. What the daemon and
/// replay use. Utterances with no text (silence, noise, dropped hallucinations) are logged and not
/// yielded: they never reach the understanding tiers.
/// </summary>
public sealed class SpeechFrontEnd(ISpeechRecognizer recognizer, EndpointerOptions endpointing, ILogger? logger = null)
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    /// <summary>Reads the source to its end and yields every utterance with text, in order.</summary>
    public async IAsyncEnumerable<HeardUtterance> ListenAsync(IAudioSource source, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var endpointer = new Endpointer(endpointing);
        await foreach (var segment in endpointer.SegmentsAsync(source, cancellationToken).ConfigureAwait(false))
        {
            Transcript transcript;
            try
            {
                transcript = await recognizer.TranscribeAsync(segment.Samples, cancellationToken).ConfigureAwait(false);
            }
            catch (SpeechRecognitionException e)
            {
                // One failed utterance must not stop the microphone: log it with its place in the stream and go on.
                _logger.LogError(e, "{Source}: {Start:F2}-{End:F2} s: recognition failed: {Reason}", source.Description,
                    segment.Start.TotalSeconds, segment.End.TotalSeconds, e.Message);
                continue;
            }
            if (transcript.IsEmpty)
            {
                _logger.LogInformation("{Source}: {Start:F2}-{End:F2} s: no speech recognised{Reason}", source.Description,
                    segment.Start.TotalSeconds, segment.End.TotalSeconds,
                    transcript.DroppedReason is null ? "" : $" ({transcript.DroppedReason})");
                continue;
            }
            _logger.LogInformation("{Source}: {Start:F2}-{End:F2} s [{Language}] {Text} ({Ms:F0} ms, RTF {Rtf:F2})", source.Description,
                segment.Start.TotalSeconds, segment.End.TotalSeconds, transcript.Language, transcript.Text, transcript.Ms, transcript.Rtf);
            yield return new HeardUtterance(segment, transcript);
        }
    }

    /// <summary>
    /// A recorded utterance file for replay: the whole file is one utterance (no endpointing), as
    /// recorded by push-to-talk. Throws <see cref="WavFormatException"/> for an unreadable file.
    /// </summary>
    public async Task<Transcript> TranscribeFileAsync(string wavPath, CancellationToken cancellationToken = default)
    {
        var clip = await Task.Run(() => WavReader.Read(wavPath), cancellationToken).ConfigureAwait(false);
        return await recognizer.TranscribeAsync(clip.Samples, cancellationToken).ConfigureAwait(false);
    }
}
