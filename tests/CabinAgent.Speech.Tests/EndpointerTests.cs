using CabinAgent.Speech.Audio;

namespace CabinAgent.Speech.Tests;

public class EndpointerTests
{
    private const double ToleranceMs = 30;

    private static List<SpeechSegment> Run(float[] audio, EndpointerOptions? options = null, int chunk = 1234)
    {
        var endpointer = new Endpointer(options);
        var segments = new List<SpeechSegment>();
        for (var i = 0; i < audio.Length; i += chunk)
            segments.AddRange(endpointer.Push(audio.AsSpan(i, Math.Min(chunk, audio.Length - i))));
        segments.AddRange(endpointer.Flush());
        return segments;
    }

    private static void AssertBoundaries(SpeechSegment segment, double startMs, double endMs)
    {
        Assert.InRange(segment.Start.TotalMilliseconds, startMs - ToleranceMs, startMs + ToleranceMs);
        Assert.InRange(segment.End.TotalMilliseconds, endMs - ToleranceMs, endMs + ToleranceMs);
    }

    [Fact]
    public void Three_tone_bursts_between_silences_give_three_utterances_at_the_right_times()
    {
        var audio = Signals.Concat(
            Signals.Silence(500), Signals.Tone(440, 800, 0.3),     // 500-1300
            Signals.Silence(1000), Signals.Tone(1000, 1200, 0.1),  // 2300-3500
            Signals.Silence(900), Signals.Tone(300, 400, 0.5),     // 4400-4800
            Signals.Silence(1000));

        var segments = Run(audio);

        Assert.Equal(3, segments.Count);
        AssertBoundaries(segments[0], 500, 1300);
        AssertBoundaries(segments[1], 2300, 3500);
        AssertBoundaries(segments[2], 4400, 4800);
        Assert.All(segments, s => Assert.Equal(EndReason.Silence, s.Reason));
    }

    private static int SampleAt(TimeSpan t) => (int)Math.Round(t.TotalMilliseconds * 16);

    [Fact]
    public void A_break_ends_the_utterance_and_nothing_before_it_reaches_the_next()
    {
        // Speech going on when the stream breaks (a lost connection, push-to-talk released), with a partial
        // 10 ms frame at the break; after it, speech again at once, well within the lead-in padding.
        var before = Signals.Concat(Signals.Silence(300), Signals.Tone(440, 700, 0.3), Signals.Tone(440, 700, 0.3)[..75]);
        var after = Signals.Concat(Signals.Tone(880, 600, 0.3), Signals.Silence(1000));
        var endpointer = new Endpointer();

        Assert.Empty(endpointer.Push(before));
        var cut = Assert.Single(endpointer.Flush());
        Assert.Equal(EndReason.EndOfStream, cut.Reason);
        Assert.Equal(before[SampleAt(cut.SamplesStart)..][..cut.Samples.Length], cut.Samples);

        var segments = endpointer.Push(after).Concat(endpointer.Flush()).ToList();
        var next = Assert.Single(segments);
        Assert.Equal(EndReason.Silence, next.Reason);
        // Positions go on from the break, counting whole frames: the 75 samples of the partial frame are gone.
        var breakAt = before.Length - 75;
        Assert.Equal(breakAt, SampleAt(next.SamplesStart));
        Assert.Equal(breakAt, SampleAt(next.Start));
        Assert.Equal(after[..next.Samples.Length], next.Samples);
    }

    [Fact]
    public void Tone_bursts_over_steady_cabin_noise_are_found_and_the_noise_alone_is_not()
    {
        // Noise at about -35 dBFS for the whole stream, tones 20 dB above it.
        var length = 6000;
        var noise = Signals.Noise(length, 0.03, seed: 42);
        var speech = Signals.Concat(
            Signals.Silence(1500), Signals.Tone(700, 1000, 0.2),   // 1500-2500
            Signals.Silence(1500), Signals.Tone(1200, 600, 0.2),   // 4000-4600
            Signals.Silence(1400));
        var segments = Run(Signals.Add(noise, speech));

        Assert.Equal(2, segments.Count);
        AssertBoundaries(segments[0], 1500, 2500);
        AssertBoundaries(segments[1], 4000, 4600);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.05)]
    public void Silence_or_steady_noise_alone_gives_no_utterance(double noiseAmplitude)
    {
        var audio = noiseAmplitude == 0 ? Signals.Silence(5000) : Signals.Noise(5000, noiseAmplitude, seed: 3);
        Assert.Empty(Run(audio));
    }

    [Fact]
    public void A_tone_under_loud_low_frequency_rumble_is_found()
    {
        // A 60 Hz drone at -13 dBFS is 10 dB louder than the tone; the high-pass takes it out of the measure.
        var rumble = Signals.Tone(60, 5000, 0.3);
        var tone = Signals.Concat(Signals.Silence(1500), Signals.Tone(1000, 1000, 0.1), Signals.Silence(2500));
        var segment = Assert.Single(Run(Signals.Add(rumble, tone)));
        AssertBoundaries(segment, 1500, 2500);
    }

    [Fact]
    public void Rumble_alone_is_not_speech()
    {
        Assert.Empty(Run(Signals.Add(Signals.Tone(60, 5000, 0.3), Signals.Tone(90, 5000, 0.2))));
    }

    [Fact]
    public void A_click_shorter_than_the_minimum_speech_is_dropped()
    {
        var audio = Signals.Concat(Signals.Silence(1000), Signals.Tone(1000, 100, 0.5), Signals.Silence(1500));
        Assert.Empty(Run(audio, new EndpointerOptions { MinSpeechMs = 250 }));
    }

    [Fact]
    public void A_pause_shorter_than_the_silence_setting_keeps_one_utterance()
    {
        var audio = Signals.Concat(
            Signals.Silence(300), Signals.Tone(500, 600, 0.3), Signals.Silence(400), Signals.Tone(500, 600, 0.3), Signals.Silence(1000));
        var segments = Run(audio, new EndpointerOptions { SilenceMs = 700 });
        var segment = Assert.Single(segments);
        AssertBoundaries(segment, 300, 1900);
    }

    [Fact]
    public void Speech_longer_than_the_maximum_is_cut_and_continues_in_the_next_utterance()
    {
        var audio = Signals.Concat(Signals.Silence(200), Signals.Tone(800, 2500, 0.3), Signals.Silence(1000));
        var segments = Run(audio, new EndpointerOptions { MaxUtteranceMs = 1500 });

        Assert.True(2 == segments.Count, string.Join("; ", segments.Select(s => $"{s.Start}-{s.End} {s.Reason}")));
        Assert.Equal(EndReason.MaxLength, segments[0].Reason);
        AssertBoundaries(segments[0], 200, 1700);
        Assert.Equal(EndReason.Silence, segments[1].Reason);
        AssertBoundaries(segments[1], 1700, 2700);
    }

    [Fact]
    public void Speech_running_into_the_end_of_the_stream_is_flushed()
    {
        var segments = Run(Signals.Concat(Signals.Silence(400), Signals.Tone(600, 700, 0.3)));
        var segment = Assert.Single(segments);
        Assert.Equal(EndReason.EndOfStream, segment.Reason);
        AssertBoundaries(segment, 400, 1100);
    }

    [Fact]
    public void Segment_samples_hold_the_speech_plus_padding()
    {
        var tone = Signals.Tone(440, 800, 0.3);
        var segments = Run(Signals.Concat(Signals.Silence(1000), tone, Signals.Silence(1000)), new EndpointerOptions { PaddingMs = 200 });

        var segment = Assert.Single(segments);
        Assert.Equal(1000, segment.Start.TotalMilliseconds);
        Assert.Equal(800, segment.SamplesStart.TotalMilliseconds);
        Assert.Equal(AudioClip.MsToSamples((segment.End - segment.SamplesStart).TotalMilliseconds + 200), segment.Samples.Length);
        // The tone sits 200 ms into the samples, sample for sample.
        Assert.Equal(tone, segment.Samples.AsSpan(3200, tone.Length).ToArray());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(160)]
    [InlineData(16_000)]
    public void Chunk_size_does_not_change_the_result(int chunk)
    {
        var audio = Signals.Concat(Signals.Silence(700), Signals.Tone(440, 500, 0.3), Signals.Silence(900), Signals.Tone(440, 500, 0.3), Signals.Silence(900));
        var reference = Run(audio);
        var segments = Run(audio, chunk: chunk);

        Assert.Equal(2, segments.Count);
        AssertBoundaries(segments[0], 700, 1200);
        AssertBoundaries(segments[1], 2100, 2600);
        Assert.Equal(reference.Select(s => (s.Start, s.End, s.Samples.Length)), segments.Select(s => (s.Start, s.End, s.Samples.Length)));
    }

    [Fact]
    public void The_noise_floor_follows_a_rise_in_cabin_noise()
    {
        // Noise jumps from -50 to -30 dBFS (window open); after the noise window it is the floor
        // again, and a tone 20 dB above the new floor is still found.
        var vad = new VadOptions { NoiseWindowMs = 2000 };
        var audio = Signals.Concat(
            Signals.Noise(2000, 0.005, seed: 1),
            Signals.Noise(6000, 0.05, seed: 2));
        var tone = Signals.Concat(Signals.Silence(6000), Signals.Tone(900, 800, 0.4), Signals.Silence(1200));
        var segments = Run(Signals.Add(audio, tone), new EndpointerOptions { Vad = vad, MaxUtteranceMs = 30_000 });

        // The jump itself may be taken for speech for at most the noise window; the tone must be there, exactly.
        var last = segments[^1];
        AssertBoundaries(last, 6000, 6800);
        Assert.True(segments.Count <= 2, $"{segments.Count} segments");
        if (segments.Count == 2) Assert.True(segments[0].Duration.TotalMilliseconds <= 2100, $"{segments[0].Duration}");
    }

    [Theory]
    [InlineData(40)]
    [InlineData(-1)]
    public void Invalid_options_are_refused_at_construction(int silenceMs)
    {
        var options = new EndpointerOptions { SilenceMs = silenceMs, MaxUtteranceMs = silenceMs == -1 ? 5 : 15_000 };
        Assert.Throws<ArgumentException>(() => new Endpointer(options));
    }
}
