using System.Text.Json.Serialization;

namespace CabinAgent.Speech;

/// <summary>
/// What the recognizer heard. Serializes to exactly the replay record's <c>"asr"</c> object:
/// <c>{"text": ..., "language": ..., "ms": ..., "rtf": ...}</c>. An empty <see cref="Text"/>
/// means no speech (silence, noise, or a dropped hallucination; see <see cref="DroppedReason"/>).
/// </summary>
/// <param name="Text">Transcript, trimmed; empty when nothing was said.</param>
/// <param name="Language"><c>zh</c>, <c>en</c>, ... as decoded (detected when the option is auto).</param>
/// <param name="Ms">Wall-clock time of the recognition, milliseconds.</param>
/// <param name="Rtf">Real-time factor: processing time over audio duration (below 1 is faster than real time).</param>
public sealed record Transcript(
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("language")] string Language,
    [property: JsonPropertyName("ms")] double Ms,
    [property: JsonPropertyName("rtf")] double Rtf)
{
    /// <summary>Why whisper's text was discarded (a known hallucination on near-silence), for the log.</summary>
    [JsonIgnore] public string? DroppedReason { get; init; }

    /// <summary>Highest no-speech probability whisper gave a segment (0 when it produced none).</summary>
    [JsonIgnore] public float NoSpeechProbability { get; init; }

    [JsonIgnore] public bool IsEmpty => Text.Length == 0;
}

/// <summary>Speech to text on 16 kHz mono audio. One implementation: <see cref="Whisper.WhisperRecognizer"/>.</summary>
public interface ISpeechRecognizer : IDisposable
{
    /// <summary>
    /// Transcribes one utterance. Throws <see cref="OperationCanceledException"/> when cancelled
    /// (whisper is aborted between compute steps) and <see cref="SpeechRecognitionException"/> when
    /// the engine fails; never returns invented text for silence.
    /// </summary>
    ValueTask<Transcript> TranscribeAsync(ReadOnlyMemory<float> samples16kMono, CancellationToken cancellationToken = default);
}

public sealed class SpeechRecognitionException(string message, Exception? inner = null) : Exception(message, inner);
