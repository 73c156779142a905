using CabinAgent.Speech.Audio;

namespace CabinAgent.Speech.Tests;

/// <summary>The endpointer on real (synthetic) speech rather than tones.</summary>
public class EspeakEndpointingTests
{
    [Fact]
    public void Two_commands_separated_by_a_pause_are_two_utterances()
    {
        var en = TestAudio.Clip("en", "play some music").Samples;
        var zh = TestAudio.Clip("cmn", "打开车窗").Samples;
        var noise = Signals.Noise(1000 + en.Length / 16 + 1500 + zh.Length / 16 + 1000, 0.003, seed: 9);
        var speech = Signals.Concat(Signals.Silence(1000), en, Signals.Silence(1500), zh, Signals.Silence(1000));
        var stream = Signals.Add(noise, speech);

        var endpointer = new Endpointer();
        var segments = endpointer.Push(stream).Concat(endpointer.Flush()).ToList();

        Assert.Equal(2, segments.Count);
        // Each utterance lies within its phrase's clip (espeak pads its output with a little silence).
        var enEnd = 1000 + en.Length / 16.0;
        Assert.InRange(segments[0].Start.TotalMilliseconds, 1000, enEnd);
        Assert.InRange(segments[0].End.TotalMilliseconds, segments[0].Start.TotalMilliseconds + 500, enEnd + 30);
        var zhStart = enEnd + 1500;
        Assert.InRange(segments[1].Start.TotalMilliseconds, zhStart, zhStart + zh.Length / 16.0);
        Assert.All(segments, s => Assert.Equal(EndReason.Silence, s.Reason));
    }

    [Fact]
    public void Espeak_output_at_22kHz_is_read_and_resampled()
    {
        var path = TestAudio.Speak("en", "open the window");
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(22_050, BitConverter.ToInt32(bytes, 24)); // espeak-ng writes 22.05 kHz
        var clip = WavReader.Read(path);
        var expectedSamples = (bytes.Length - 44) / 2 * 16_000.0 / 22_050;
        Assert.InRange(clip.Samples.Length, expectedSamples - 2, expectedSamples + 2);
    }
}
