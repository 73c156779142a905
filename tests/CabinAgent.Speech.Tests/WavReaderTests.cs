using System.Buffers.Binary;
using CabinAgent.Speech.Audio;

namespace CabinAgent.Speech.Tests;

public class WavReaderTests
{
    /// <summary>Builds a WAV with an arbitrary header so every refusal can be produced exactly.</summary>
    private static byte[] Wav(int encoding, int channels, int rate, int bits, byte[] data, int? declaredDataSize = null, bool extensible = false)
    {
        var fmtSize = extensible ? 40 : 16;
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        w.Write("RIFF"u8);
        w.Write(4 + 8 + fmtSize + 8 + data.Length);
        w.Write("WAVE"u8);
        w.Write("fmt "u8);
        w.Write(fmtSize);
        w.Write((ushort)(extensible ? WavFormat.Extensible : encoding));
        w.Write((ushort)channels);
        w.Write(rate);
        w.Write(rate * channels * bits / 8);
        w.Write((ushort)(channels * bits / 8));
        w.Write((ushort)bits);
        if (extensible)
        {
            w.Write((ushort)22);      // cbSize
            w.Write((ushort)bits);    // valid bits
            w.Write(channels == 2 ? 3 : 4); // channel mask
            w.Write((ushort)encoding); // sub-format GUID, first two bytes
            w.Write(new byte[14]);
        }
        w.Write("data"u8);
        w.Write(declaredDataSize ?? data.Length);
        w.Write(data);
        return ms.ToArray();
    }

    private static byte[] Pcm16(params short[] samples)
    {
        var b = new byte[samples.Length * 2];
        for (var i = 0; i < samples.Length; i++) BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(i * 2), samples[i]);
        return b;
    }

    private static byte[] Float32(params float[] samples)
    {
        var b = new byte[samples.Length * 4];
        for (var i = 0; i < samples.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(i * 4), samples[i]);
        return b;
    }

    [Fact]
    public void Reads_16_bit_pcm_mono_at_16kHz_sample_for_sample()
    {
        var clip = WavReader.Read(Wav(1, 1, 16_000, 16, Pcm16(0, 16384, -32768, 32767)));
        Assert.Equal([0f, 0.5f, -1f, 32767 / 32768f], clip.Samples);
    }

    [Fact]
    public void Reads_32_bit_float_stereo_and_averages_the_channels()
    {
        var clip = WavReader.Read(Wav(3, 2, 16_000, 32, Float32(0.5f, 0.25f, -1f, 1f)));
        Assert.Equal([0.375f, 0f], clip.Samples);
    }

    [Fact]
    public void Reads_wave_format_extensible_with_a_float_sub_format()
    {
        var clip = WavReader.Read(Wav(3, 1, 16_000, 32, Float32(0.1f, -0.2f), extensible: true));
        Assert.Equal([0.1f, -0.2f], clip.Samples);
    }

    [Fact]
    public void Resamples_44_1kHz_to_16kHz()
    {
        var tone = Signals.Tone(440, 1000, 0.5, 44_100);
        var clip = WavReader.Read(WavWriter.EncodePcm16(tone, 44_100));
        Assert.Equal(16_000, clip.Samples.Length);
        Assert.Equal(0.5 / Math.Sqrt(2), Signals.Rms(clip.Samples.AsSpan(1000, 14_000)), 2);
    }

    [Fact]
    public void Skips_unknown_chunks_before_the_data()
    {
        var wav = Wav(1, 1, 16_000, 16, Pcm16(1000, 2000));
        // Insert a "LIST" chunk of odd size (padded to even) between fmt and data.
        var list = new byte[] { (byte)'L', (byte)'I', (byte)'S', (byte)'T', 3, 0, 0, 0, 1, 2, 3, 0 };
        var withList = wav[..36].Concat(list).Concat(wav[36..]).ToArray();
        Assert.Equal([1000 / 32768f, 2000 / 32768f], WavReader.Read(withList).Samples);
    }

    /// <summary>
    /// Six 16-bit samples, as sox writes them in each format the reader takes. sox widens 16-bit samples exactly (no
    /// dither going up), so every file must read back as these very values over 32768.
    /// </summary>
    private static readonly short[] Known = [0, 1000, -1000, 32767, -32768, 12345];

    [Theory]
    [InlineData("16-bit PCM", "-e signed -b 16", WavFormat.Pcm)]
    [InlineData("24-bit PCM, extensible", "-e signed -b 24", WavFormat.Extensible)]
    [InlineData("24-bit PCM, plain", "-e signed -b 24 -t wavpcm", WavFormat.Pcm)]
    [InlineData("32-bit PCM, extensible", "-e signed -b 32", WavFormat.Extensible)]
    [InlineData("32-bit float", "-e floating-point -b 32", WavFormat.IeeeFloat)]
    public void Reads_real_files_of_every_accepted_format_sample_for_sample(string _, string soxFormat, int formatTag)
    {
        var dir = Directory.CreateTempSubdirectory("cabin-wav-").FullName;
        try
        {
            var raw = Path.Combine(dir, "in.raw");
            File.WriteAllBytes(raw, Pcm16(Known));
            var wav = Path.Combine(dir, "out.wav");
            Sox($"-r 16000 -c 1 -e signed -b 16 -t raw {raw} {soxFormat} {wav}");
            // The file really is in the format the case names (sox chooses the extensible header itself above 16 bits).
            Assert.Equal(formatTag, BinaryPrimitives.ReadUInt16LittleEndian(File.ReadAllBytes(wav).AsSpan(20)));

            var clip = WavReader.Read(wav);

            Assert.Equal(Known.Select(v => v / 32768f), clip.Samples);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Reads_8_bit_pcm_and_24_bit_stereo_extensible_as_mono()
    {
        // 8-bit PCM is unsigned around 128.
        Assert.Equal([0f, 1 / 128f, -1f, 127 / 128f], WavReader.Read(Wav(1, 1, 16_000, 8, [128, 129, 0, 255])).Samples);
        // 24-bit little-endian frames (left, right): (2^22, 0) and (-2^23, -2^22) average to 0.25 and -0.75.
        byte[] frames = [0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0xC0];
        Assert.Equal([0.25f, -0.75f], WavReader.Read(Wav(1, 2, 16_000, 24, frames, extensible: true)).Samples);
    }

    private static void Sox(string arguments)
    {
        var info = new System.Diagnostics.ProcessStartInfo("sox") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments.Split(' ')) info.ArgumentList.Add(a);
        using var sox = System.Diagnostics.Process.Start(info)!;
        var error = sox.StandardError.ReadToEnd();
        sox.WaitForExit();
        Assert.True(sox.ExitCode == 0, $"sox {arguments}: {error}");
    }

    public static TheoryData<string, byte[], WavRejection, string> Refused => new()
    {
        { "not RIFF", "OggS\0\0\0\0\0\0\0\0\0\0\0\0"u8.ToArray(), WavRejection.NotRiff, "not a RIFF file (no 'RIFF' header)" },
        { "empty", [], WavRejection.NotRiff, "not a RIFF file (no 'RIFF' header)" },
        { "RIFF but AVI", "RIFF\0\0\0\0AVI LIST"u8.ToArray(), WavRejection.NotWave, "RIFF file is not WAVE (no 'WAVE' form type)" },
        { "12-bit", Wav(1, 1, 16_000, 12, [0, 0]), WavRejection.UnsupportedBitDepth, "unsupported PCM bit depth 12: only 8, 16, 24 and 32-bit PCM are read" },
        { "20-bit extensible", Wav(1, 2, 48_000, 20, new byte[5], extensible: true), WavRejection.UnsupportedBitDepth, "unsupported PCM bit depth 20: only 8, 16, 24 and 32-bit PCM are read" },
        { "64-bit float", Wav(3, 1, 16_000, 64, new byte[8]), WavRejection.UnsupportedBitDepth, "unsupported float bit depth 64: only 32-bit float is read" },
        { "MS ADPCM", Wav(2, 1, 16_000, 4, new byte[4]), WavRejection.UnsupportedEncoding, "unsupported encoding MS ADPCM (2): only PCM (8, 16, 24, 32-bit) and IEEE float 32-bit are read" },
        { "IMA ADPCM", Wav(0x11, 1, 16_000, 4, new byte[4]), WavRejection.UnsupportedEncoding, "unsupported encoding IMA ADPCM (17): only PCM (8, 16, 24, 32-bit) and IEEE float 32-bit are read" },
        { "mu-law", Wav(7, 1, 8_000, 8, new byte[4]), WavRejection.UnsupportedEncoding, "unsupported encoding mu-law (7): only PCM (8, 16, 24, 32-bit) and IEEE float 32-bit are read" },
        { "truncated data", Wav(1, 1, 16_000, 16, Pcm16(1, 2), declaredDataSize: 1000), WavRejection.Truncated, "truncated file: the 'data' chunk declares 1000 bytes but only 4 are present" },
        { "truncated fmt", Wav(1, 1, 16_000, 16, Pcm16(1))[..30], WavRejection.Truncated, "truncated file: the 'fmt ' chunk is cut short" },
        { "no data chunk", Wav(1, 1, 16_000, 16, [])[..36], WavRejection.MissingDataChunk, "no 'data' chunk" },
        { "data before fmt", "RIFF\0\0\0\0WAVEdata\0\0\0\0"u8.ToArray(), WavRejection.MissingFormatChunk, "no 'fmt ' chunk before the 'data' chunk" },
        { "zero channels", Wav(1, 0, 16_000, 16, Pcm16(1)), WavRejection.InvalidFormat, "invalid channel count 0" },
        { "absurd rate", Wav(1, 1, 1_000, 16, Pcm16(1)), WavRejection.InvalidFormat, "invalid sample rate 1000 Hz (accepted: 4000 to 384000)" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void Refuses_what_it_cannot_read_with_the_exact_reason(string _, byte[] file, WavRejection rejection, string message)
    {
        var error = Assert.Throws<WavFormatException>(() => WavReader.Read(file));
        Assert.Equal(rejection, error.Rejection);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void A_missing_file_is_reported_by_path()
    {
        var path = Path.Combine(Path.GetTempPath(), $"cabin-missing-{Guid.NewGuid():N}.wav");
        var error = Assert.Throws<FileNotFoundException>(() => WavReader.Read(path));
        Assert.Equal($"WAV file not found: {path}", error.Message);
    }

    [Fact]
    public void A_streamed_wav_with_unknown_length_reads_what_is_there()
    {
        var wav = Wav(1, 1, 16_000, 16, Pcm16(100, 200, 300), declaredDataSize: -1);
        Assert.Equal(3, WavReader.Read(wav).Samples.Length);
    }

    [Fact]
    public void Written_files_read_back()
    {
        var tone = Signals.Tone(300, 50, 0.25);
        var read = WavReader.Read(WavWriter.EncodePcm16(tone, 16_000)).Samples;
        Assert.Equal(tone.Length, read.Length);
        for (var i = 0; i < tone.Length; i++) Assert.Equal(tone[i], read[i], 1.0 / 32768);
    }
}
