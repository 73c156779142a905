using System.Runtime.CompilerServices;

namespace CabinAgent.Speech.Audio;

/// <summary>How a continuous stream is cut into utterances (config section <c>Speech:Endpointing</c>).</summary>
public sealed class EndpointerOptions
{
    /// <summary>Silence that ends an utterance. Mandarin speakers pause ~300 ms between phrases; 700 keeps a command whole.</summary>
    public int SilenceMs { get; set; } = 700;

    /// <summary>Voiced time needed before anything counts as speech: clicks, a door thud or a cough are shorter.</summary>
    public int MinSpeechMs { get; set; } = 250;

    /// <summary>Longest utterance; longer speech is cut here (whisper's window is 30 s, commands are seconds).</summary>
    public int MaxUtteranceMs { get; set; } = 15_000;

    /// <summary>Audio kept before the detected start and after the end, so first and last phonemes are whole.</summary>
    public int PaddingMs { get; set; } = 200;

    public VadOptions Vad { get; set; } = new();

    public void Validate()
    {
        if (SilenceMs < 50) throw new ArgumentException("Endpointing: SilenceMs must be at least 50");
        if (MinSpeechMs < VoiceActivityDetector.FrameMs) throw new ArgumentException("Endpointing: MinSpeechMs must be at least 10");
        if (MaxUtteranceMs < MinSpeechMs || MaxUtteranceMs > 30_000)
            throw new ArgumentException("Endpointing: MaxUtteranceMs must be between MinSpeechMs and 30000 (whisper's window)");
        if (PaddingMs is < 0 or > 1000) throw new ArgumentException("Endpointing: PaddingMs must be within [0, 1000]");
        Vad.Validate();
    }
}

public enum EndReason
{
    /// <summary>The speaker stopped: <see cref="EndpointerOptions.SilenceMs"/> of silence followed.</summary>
    Silence,

    /// <summary>Speech went on past <see cref="EndpointerOptions.MaxUtteranceMs"/> and was cut.</summary>
    MaxLength,

    /// <summary>The stream ended during speech.</summary>
    EndOfStream,
}

/// <summary>
/// One utterance found in a stream.
/// <see cref="Start"/>/<see cref="End"/> are the detected speech boundaries from the start of the stream;
/// <see cref="Samples"/> (16 kHz mono) also hold the padding around them, starting at <see cref="SamplesStart"/>.
/// </summary>
public sealed record SpeechSegment(TimeSpan Start, TimeSpan End, TimeSpan SamplesStart, float[] Samples, EndReason Reason)
{
    public TimeSpan Duration => End - Start;
}

/// <summary>
/// Cuts a continuous 16 kHz mono stream into utterances with <see cref="VoiceActivityDetector"/>.
/// Feed it chunks of any size with <see cref="Push"/>; call <see cref="Flush"/> at the end of the stream.
/// Silence and noise never come out, only stretches with at least MinSpeechMs of voice.
/// </summary>
public sealed class Endpointer
{
    private enum State { Idle, Candidate, InSpeech }

    private readonly EndpointerOptions _options;
    private readonly VoiceActivityDetector _vad;
    private readonly float[] _frame = new float[VoiceActivityDetector.FrameSamples];
    private int _frameFill;
    private long _frameIndex;           // index of the next frame to classify
    private State _state = State.Idle;
    private long _startFrame, _lastVoicedFrame;
    private int _voicedFrames;
    // Audio retained for building segments: from absolute sample _audioStart on.
    private readonly List<float> _audio = new();
    private long _audioStart;

    public Endpointer(EndpointerOptions? options = null)
    {
        _options = options ?? new EndpointerOptions();
        _options.Validate();
        _vad = new VoiceActivityDetector(_options.Vad);
    }

    private int SilenceFrames => _options.SilenceMs / VoiceActivityDetector.FrameMs;
    private int MinSpeechFrames => _options.MinSpeechMs / VoiceActivityDetector.FrameMs;
    private int MaxFrames => _options.MaxUtteranceMs / VoiceActivityDetector.FrameMs;
    private int PaddingSamples => AudioClip.MsToSamples(_options.PaddingMs);

    /// <summary>Feeds 16 kHz mono samples; returns the utterances completed by them (usually none).</summary>
    public IReadOnlyList<SpeechSegment> Push(ReadOnlySpan<float> samples)
    {
        List<SpeechSegment>? done = null;
        foreach (var sample in samples)
        {
            _audio.Add(sample);
            _frame[_frameFill++] = sample;
            if (_frameFill < _frame.Length) continue;
            _frameFill = 0;
            var segment = OnFrame(_vad.Process(_frame));
            if (segment is not null) (done ??= []).Add(segment);
        }
        return done ?? (IReadOnlyList<SpeechSegment>)[];
    }

    /// <summary>
    /// Ends the stream, or breaks it (an empty chunk from a source: push-to-talk released, a connection lost):
    /// speech still going on becomes a last utterance, and nothing from before the break reaches an utterance
    /// after it — no lead-in padding, no partial frame (dropped: positions after a break count whole frames),
    /// no voice hysteresis or high-pass filter state. The noise floor is kept: it is the cabin's, not the speaker's.
    /// </summary>
    public IReadOnlyList<SpeechSegment> Flush()
    {
        IReadOnlyList<SpeechSegment> done = [];
        if (_state == State.InSpeech || (_state == State.Candidate && _voicedFrames >= MinSpeechFrames))
            done = [Cut(_startFrame, _lastVoicedFrame + 1, EndReason.EndOfStream)];
        _state = State.Idle;
        _voicedFrames = 0;
        _audio.Clear();
        _frameFill = 0;
        _audioStart = _frameIndex * VoiceActivityDetector.FrameSamples;
        _vad.BreakStream();
        return done;
    }

    /// <summary>Reads a source to its end (or cancellation) and yields its utterances as they complete.</summary>
    public async IAsyncEnumerable<SpeechSegment> SegmentsAsync(IAudioSource source, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var chunk in source.ReadAsync(cancellationToken).WithCancellation(cancellationToken))
        {
            var segments = chunk.IsEmpty ? Flush() : Push(chunk.Span);
            foreach (var segment in segments)
                yield return segment;
        }
        foreach (var segment in Flush())
            yield return segment;
    }

    private SpeechSegment? OnFrame(VadFrame frame)
    {
        var f = _frameIndex++;
        switch (_state)
        {
            case State.Idle:
                if (frame.IsVoice)
                {
                    _state = State.Candidate;
                    _startFrame = _lastVoicedFrame = f;
                    _voicedFrames = 1;
                    if (_voicedFrames >= MinSpeechFrames) _state = State.InSpeech;
                }
                else TrimIdleAudio();
                return null;

            case State.Candidate:
                if (frame.IsVoice)
                {
                    _lastVoicedFrame = f;
                    if (++_voicedFrames >= MinSpeechFrames) _state = State.InSpeech;
                }
                else if (f - _lastVoicedFrame >= SilenceFrames)
                {
                    ResetToIdle(); // too little voice: a click or a bump, not speech
                }
                return null;

            case State.InSpeech:
                if (frame.IsVoice) _lastVoicedFrame = f;
                if (f - _lastVoicedFrame >= SilenceFrames)
                {
                    var segment = Cut(_startFrame, _lastVoicedFrame + 1, EndReason.Silence);
                    ResetToIdle();
                    return segment;
                }
                if (f + 1 - _startFrame >= MaxFrames)
                {
                    // Reaching the limit in the trailing silence means the speaker had already
                    // stopped: end where the voice ended, as a silence end would.
                    var segment = frame.IsVoice
                        ? Cut(_startFrame, f + 1, EndReason.MaxLength)
                        : Cut(_startFrame, _lastVoicedFrame + 1, EndReason.Silence);
                    ResetToIdle();
                    return segment;
                }
                return null;
        }
        return null;
    }

    private SpeechSegment Cut(long startFrame, long endFrame, EndReason reason)
    {
        var startSample = startFrame * VoiceActivityDetector.FrameSamples;
        var endSample = endFrame * VoiceActivityDetector.FrameSamples;
        // The leading padding never reaches before retained audio; a cut at MaxLength gets no
        // trailing padding, the speech after the cut belongs to the next utterance.
        var from = Math.Max(_audioStart, startSample - PaddingSamples);
        var to = reason == EndReason.MaxLength
            ? endSample
            : Math.Min(_audioStart + _audio.Count, endSample + PaddingSamples);
        var samples = _audio.GetRange((int)(from - _audioStart), (int)(to - from)).ToArray();
        return new SpeechSegment(
            TimeSpan.FromMilliseconds(AudioClip.SamplesToMs(startSample)),
            TimeSpan.FromMilliseconds(AudioClip.SamplesToMs(endSample)),
            TimeSpan.FromMilliseconds(AudioClip.SamplesToMs(from)),
            samples,
            reason);
    }

    private void ResetToIdle()
    {
        _state = State.Idle;
        _voicedFrames = 0;
        TrimIdleAudio();
    }

    /// <summary>While idle only the last PaddingMs (plus the partial frame) are kept, for the next utterance's lead-in.</summary>
    private void TrimIdleAudio()
    {
        var keep = PaddingSamples + _frameFill;
        var excess = _audio.Count - keep;
        if (excess <= 0) return;
        _audio.RemoveRange(0, excess);
        _audioStart += excess;
    }
}
