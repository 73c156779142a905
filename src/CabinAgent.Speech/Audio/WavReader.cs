using System.Buffers.Binary;
using NAudio.Wave;

namespace CabinAgent.Speech.Audio;

/// <summary>Why a WAV file was refused. Stable names: they appear in logs and replay records.</summary>
public enum WavRejection
{
    NotRiff,
    NotWave,
    Truncated,
    MissingFormatChunk,
    MissingDataChunk,
    UnsupportedEncoding,
    UnsupportedBitDepth,
    InvalidFormat,
}

/// <summary>A WAV file we cannot read, with the reason in <see cref="Rejection"/> and a sentence for people.</summary>
public sealed class WavFormatException(WavRejection rejection, string message) : Exception(message)
{
    public WavRejection Rejection { get; } = rejection;
}

/// <summary>The format a WAV file declares in its <c>fmt </c> chunk.</summary>
public sealed record WavFormat(int Encoding, int Channels, int SampleRate, int BitsPerSample)
{
    public const int Pcm = 1;
    public const int IeeeFloat = 3;
    public const int Extensible = 0xFFFE;
}

/// <summary>
/// Reads RIFF/WAVE files holding 8, 16, 24 or 32-bit PCM or 32-bit float samples (plain or
/// WAVE_FORMAT_EXTENSIBLE), at any rate and channel count, and returns 16 kHz mono. Everything else is refused with a
/// <see cref="WavFormatException"/> rather than guessed at: a misread file would reach the recognizer as loud noise.
/// <para>The samples are decoded by NAudio (<c>NAudio.Core</c>'s sample providers). The chunk walk stays ours because
/// NAudio's <c>WaveFileReader</c> gives no reason a file is refused (replay records and logs carry a stable
/// <see cref="WavRejection"/>), reads on through a truncated <c>data</c> chunk instead of refusing it, and was never
/// run through our fuzzer; the resampling stays ours so a file and the same audio streamed (raw, arecord, MQTT) give
/// the recognizer the same samples.</para>
/// </summary>
public static class WavReader
{
    /// <summary>Files larger than this are refused: a voice command is seconds long, not an hour.</summary>
    public const long MaxFileBytes = 64L * 1024 * 1024;

    public static AudioClip Read(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"WAV file not found: {path}", path);
        if (info.Length > MaxFileBytes)
            throw new WavFormatException(WavRejection.InvalidFormat, $"{path}: file is {info.Length} bytes, more than the {MaxFileBytes} accepted");
        return Read(File.ReadAllBytes(path));
    }

    public static AudioClip Read(ReadOnlySpan<byte> bytes)
    {
        var (format, dataOffset, dataLength) = Parse(bytes);
        var interleaved = Decode(format, bytes.Slice(dataOffset, dataLength));
        return new AudioClip(Resampler.ToMono16k(interleaved, format.SampleRate, format.Channels));
    }

    private static (WavFormat Format, int DataOffset, int DataLength) Parse(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 12 || !bytes[..4].SequenceEqual("RIFF"u8))
            throw new WavFormatException(WavRejection.NotRiff, "not a RIFF file (no 'RIFF' header)");
        if (!bytes.Slice(8, 4).SequenceEqual("WAVE"u8))
            throw new WavFormatException(WavRejection.NotWave, "RIFF file is not WAVE (no 'WAVE' form type)");

        WavFormat? format = null;
        var pos = 12;
        while (pos + 8 <= bytes.Length)
        {
            var id = bytes.Slice(pos, 4);
            var size = BinaryPrimitives.ReadUInt32LittleEndian(bytes.Slice(pos + 4, 4));
            var body = pos + 8;
            if (id.SequenceEqual("fmt "u8))
            {
                if (size < 16 || body + size > bytes.Length)
                    throw new WavFormatException(WavRejection.Truncated, "truncated file: the 'fmt ' chunk is cut short");
                format = ReadFormat(bytes.Slice(body, (int)size));
            }
            else if (id.SequenceEqual("data"u8))
            {
                if (format is null)
                    throw new WavFormatException(WavRejection.MissingFormatChunk, "no 'fmt ' chunk before the 'data' chunk");
                // 0xFFFFFFFF is what streaming writers (arecord, sox to a pipe) put when the length was unknown.
                if (size == uint.MaxValue) size = (uint)(bytes.Length - body);
                if (body + (long)size > bytes.Length)
                    throw new WavFormatException(WavRejection.Truncated,
                        $"truncated file: the 'data' chunk declares {size} bytes but only {bytes.Length - body} are present");
                var blockAlign = format.Channels * format.BitsPerSample / 8;
                var usable = (int)size - (int)size % blockAlign;
                return (format, body, usable);
            }
            // Chunks are word-aligned. A size past the end of the file means there is no further chunk to read.
            var next = body + (long)size + (size & 1);
            if (next > bytes.Length) break;
            pos = (int)next;
        }
        if (format is null)
            throw new WavFormatException(WavRejection.MissingFormatChunk, "no 'fmt ' chunk");
        throw new WavFormatException(WavRejection.MissingDataChunk, "no 'data' chunk");
    }

    private static WavFormat ReadFormat(ReadOnlySpan<byte> fmt)
    {
        int encoding = BinaryPrimitives.ReadUInt16LittleEndian(fmt);
        int channels = BinaryPrimitives.ReadUInt16LittleEndian(fmt[2..]);
        var rate = BinaryPrimitives.ReadInt32LittleEndian(fmt[4..]);
        int bits = BinaryPrimitives.ReadUInt16LittleEndian(fmt[14..]);

        if (encoding == WavFormat.Extensible)
        {
            if (fmt.Length < 40)
                throw new WavFormatException(WavRejection.InvalidFormat, "WAVE_FORMAT_EXTENSIBLE header is shorter than 40 bytes");
            // The sub-format GUID starts with the plain format code.
            encoding = BinaryPrimitives.ReadUInt16LittleEndian(fmt[24..]);
        }

        if (encoding != WavFormat.Pcm && encoding != WavFormat.IeeeFloat)
            throw new WavFormatException(WavRejection.UnsupportedEncoding,
                $"unsupported encoding {EncodingName(encoding)}: only PCM (8, 16, 24, 32-bit) and IEEE float 32-bit are read");
        if (encoding == WavFormat.Pcm && bits is not (8 or 16 or 24 or 32))
            throw new WavFormatException(WavRejection.UnsupportedBitDepth,
                $"unsupported PCM bit depth {bits}: only 8, 16, 24 and 32-bit PCM are read");
        if (encoding == WavFormat.IeeeFloat && bits != 32)
            throw new WavFormatException(WavRejection.UnsupportedBitDepth,
                $"unsupported float bit depth {bits}: only 32-bit float is read");
        if (channels < 1 || channels > 32)
            throw new WavFormatException(WavRejection.InvalidFormat, $"invalid channel count {channels}");
        if (rate < 4_000 || rate > 384_000)
            throw new WavFormatException(WavRejection.InvalidFormat, $"invalid sample rate {rate} Hz (accepted: 4000 to 384000)");
        return new WavFormat(encoding, channels, rate, bits);
    }

    private static string EncodingName(int code) => code switch
    {
        2 => "MS ADPCM (2)",
        6 => "A-law (6)",
        7 => "mu-law (7)",
        0x11 => "IMA ADPCM (17)",
        0x55 => "MP3 (85)",
        _ => $"format code {code}",
    };

    private static float[] Decode(WavFormat format, ReadOnlySpan<byte> data)
    {
        // An extensible header was reduced to its plain sub-format by ReadFormat: the same samples either way.
        var waveFormat = format.Encoding == WavFormat.IeeeFloat
            ? WaveFormat.CreateIeeeFloatWaveFormat(format.SampleRate, format.Channels)
            : new WaveFormat(format.SampleRate, format.BitsPerSample, format.Channels);
        using var stream = new RawSourceWaveStream(new MemoryStream(data.ToArray(), writable: false), waveFormat);
        var provider = stream.ToSampleProvider();
        var samples = new float[data.Length / (format.BitsPerSample / 8)];
        var read = 0;
        while (read < samples.Length)
        {
            var n = provider.Read(samples.AsSpan(read));
            if (n == 0) break;
            read += n;
        }
        if (format.Encoding == WavFormat.IeeeFloat)
        {
            // NaN or out-of-range floats would blow up the mel spectrogram; clamp them to full scale.
            for (var i = 0; i < read; i++)
                samples[i] = float.IsNaN(samples[i]) ? 0f : Math.Clamp(samples[i], -1f, 1f);
        }
        return read == samples.Length ? samples : samples[..read];
    }
}
