using CabinAgent.Speech.Audio;

namespace CabinAgent.Speech.Tests;

public class ResamplerTests
{
    [Theory]
    [InlineData(48_000)]
    [InlineData(44_100)]
    [InlineData(22_050)]
    [InlineData(8_000)]
    public void A_tone_inside_the_speech_band_keeps_frequency_and_amplitude(int rate)
    {
        var input = Signals.Tone(1000, 1000, 0.5, rate);
        var output = Resampler.ToMono16k(input, rate, 1);

        Assert.Equal(16_000, output.Length);
        // Compare with the ideal 16 kHz tone away from the edges (the filter has no delay, so phases line up).
        var ideal = Signals.Tone(1000, 1000, 0.5);
        var error = new float[14_000];
        for (var i = 0; i < error.Length; i++) error[i] = output[i + 1000] - ideal[i + 1000];
        Assert.True(Signals.Rms(error) < 0.005, $"rms error {Signals.Rms(error)}");
    }

    [Fact]
    public void A_tone_above_8kHz_is_removed_not_folded_into_the_speech_band()
    {
        // 11 kHz at 48 kHz would alias to 5 kHz if decimated naively.
        var input = Signals.Tone(11_000, 1000, 0.5, 48_000);
        var output = Resampler.ToMono16k(input, 48_000, 1);

        var rms = Signals.Rms(output.AsSpan(1000, 14_000));
        Assert.True(rms < 0.5 / Math.Sqrt(2) / 1000, $"residual rms {rms} (should be 60 dB down)");
    }

    [Fact]
    public void Sixteen_kHz_mono_passes_through_unchanged()
    {
        var input = Signals.Noise(100, 0.3, seed: 1);
        Assert.Equal(input, Resampler.ToMono16k(input, 16_000, 1));
    }

    [Fact]
    public void Channels_are_averaged()
    {
        var left = Signals.Tone(500, 100, 0.4);
        var right = new float[left.Length];
        var mono = Resampler.ToMono16k(Signals.Interleave(left, right), 16_000, 2);
        Assert.Equal(left.Length, mono.Length);
        for (var i = 0; i < mono.Length; i++) Assert.Equal(left[i] / 2, mono[i], 6);
    }

    [Theory]
    [InlineData(48_000, 480)]
    [InlineData(44_100, 1000)]
    [InlineData(8_000, 33)]
    public void Streaming_in_chunks_gives_the_same_samples_as_one_shot(int rate, int chunk)
    {
        var input = Signals.Concat(Signals.Tone(440, 300, 0.4, rate), Signals.Noise(300, 0.2, seed: 7, rate));
        var expected = Resampler.ToMono16k(input, rate, 1);

        var streaming = new StreamingResampler(rate, 16_000);
        var output = new List<float>();
        for (var i = 0; i < input.Length; i += chunk)
            output.AddRange(streaming.Process(input.AsSpan(i, Math.Min(chunk, input.Length - i))));
        output.AddRange(streaming.Flush());

        Assert.Equal(expected.Length, output.Count);
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], output[i]);
    }

    [Fact]
    public void Output_length_follows_the_rate_ratio()
    {
        // 44.1 kHz, 0.5 s = 22050 samples -> 8000 samples at 16 kHz.
        var output = Resampler.ToMono16k(Signals.Silence(500, 44_100), 44_100, 1);
        Assert.Equal(8000, output.Length);
    }
}
