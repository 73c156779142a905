using System.Buffers.Binary;

namespace CabinAgent.Speech.Audio;

/// <summary>Writes 16-bit PCM WAV files (bench fixtures, debugging dumps of detected utterances).</summary>
public static class WavWriter
{
    public static void WritePcm16(string path, ReadOnlySpan<float> interleaved, int sampleRate, int channels = 1) =>
        File.WriteAllBytes(path, EncodePcm16(interleaved, sampleRate, channels));

    public static byte[] EncodePcm16(ReadOnlySpan<float> interleaved, int sampleRate, int channels = 1)
    {
        var dataBytes = interleaved.Length * 2;
        var bytes = new byte[44 + dataBytes];
        var s = bytes.AsSpan();
        "RIFF"u8.CopyTo(s);
        BinaryPrimitives.WriteInt32LittleEndian(s[4..], 36 + dataBytes);
        "WAVE"u8.CopyTo(s[8..]);
        "fmt "u8.CopyTo(s[12..]);
        BinaryPrimitives.WriteInt32LittleEndian(s[16..], 16);
        BinaryPrimitives.WriteInt16LittleEndian(s[20..], WavFormat.Pcm);
        BinaryPrimitives.WriteInt16LittleEndian(s[22..], (short)channels);
        BinaryPrimitives.WriteInt32LittleEndian(s[24..], sampleRate);
        BinaryPrimitives.WriteInt32LittleEndian(s[28..], sampleRate * channels * 2);
        BinaryPrimitives.WriteInt16LittleEndian(s[32..], (short)(channels * 2));
        BinaryPrimitives.WriteInt16LittleEndian(s[34..], 16);
        "data"u8.CopyTo(s[36..]);
        BinaryPrimitives.WriteInt32LittleEndian(s[40..], dataBytes);
        for (var i = 0; i < interleaved.Length; i++)
            BinaryPrimitives.WriteInt16LittleEndian(s[(44 + i * 2)..], ToPcm16(interleaved[i]));
        return bytes;
    }

    public static short ToPcm16(float sample) =>
        (short)Math.Clamp((int)MathF.Round(sample * 32767f), short.MinValue, short.MaxValue);
}
