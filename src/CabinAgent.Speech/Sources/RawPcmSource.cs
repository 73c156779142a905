using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using CabinAgent.Speech.Audio;

namespace CabinAgent.Speech.Sources;

/// <summary>
/// Converts little-endian signed 16-bit PCM bytes, interleaved, at any rate and channel count, to
/// 16 kHz mono float, across chunk boundaries (a chunk may end mid-sample or mid-frame).
/// </summary>
public sealed class Pcm16Decoder
{
    private readonly int _channels;
    private readonly StreamingResampler? _resampler;
    private readonly byte[] _carry;
    private int _carryCount;

    public Pcm16Decoder(int sampleRate, int channels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        _channels = channels;
        _carry = new byte[2 * channels];
        _resampler = sampleRate == AudioClip.SampleRate ? null : new StreamingResampler(sampleRate, AudioClip.SampleRate);
    }

    public float[] Decode(ReadOnlySpan<byte> bytes)
    {
        var frameBytes = 2 * _channels;
        var total = _carryCount + bytes.Length;
        var frames = total / frameBytes;
        var interleaved = new float[frames * _channels];
        var sample = 0;
        // Finish the frame left over from the previous chunk, then whole frames, then keep the rest.
        Span<byte> frame = stackalloc byte[frameBytes];
        var consumed = 0;
        if (_carryCount > 0 && frames > 0)
        {
            _carry.AsSpan(0, _carryCount).CopyTo(frame);
            var need = frameBytes - _carryCount;
            bytes[..need].CopyTo(frame[_carryCount..]);
            for (var c = 0; c < _channels; c++)
                interleaved[sample++] = BinaryPrimitives.ReadInt16LittleEndian(frame[(2 * c)..]) / 32768f;
            consumed = need;
            _carryCount = 0;
        }
        else if (frames == 0)
        {
            bytes.CopyTo(_carry.AsSpan(_carryCount));
            _carryCount += bytes.Length;
            return [];
        }
        var whole = (bytes.Length - consumed) / frameBytes * frameBytes;
        for (var i = consumed; i < consumed + whole; i += 2)
            interleaved[sample++] = BinaryPrimitives.ReadInt16LittleEndian(bytes[i..]) / 32768f;
        var rest = bytes[(consumed + whole)..];
        rest.CopyTo(_carry);
        _carryCount = rest.Length;

        var mono = Resampler.Downmix(interleaved, _channels);
        return _resampler is null ? mono : _resampler.Process(mono);
    }

    /// <summary>End of stream: the resampler's tail (a partial frame left over is dropped).</summary>
    public float[] Flush()
    {
        _carryCount = 0;
        return _resampler?.Flush() ?? [];
    }
}

/// <summary>
/// Raw s16le PCM from a stream: stdin (<c>-</c>), a FIFO the audio front-end writes to, a file, or a
/// process's output (see <see cref="ArecordSource"/>). Ends when the stream does.
/// </summary>
public sealed class RawPcmSource : IAudioSource
{
    /// <summary>Read size: 20 ms at 48 kHz stereo; small enough to keep end-of-speech latency low.</summary>
    private const int ReadBytes = 3840;

    private readonly Func<CancellationToken, ValueTask<Stream>> _open;
    private readonly int _sampleRate;
    private readonly int _channels;
    private Stream? _stream;

    public RawPcmSource(Func<CancellationToken, ValueTask<Stream>> open, int sampleRate, int channels, string description)
    {
        _open = open;
        _sampleRate = sampleRate;
        _channels = channels;
        Description = description;
    }

    /// <summary>From a path, or stdin for <c>-</c>. A FIFO's open waits for its writer, off the caller's thread.</summary>
    public static RawPcmSource FromPath(string path, int sampleRate, int channels) =>
        path == "-"
            ? new RawPcmSource(_ => ValueTask.FromResult(Console.OpenStandardInput()), sampleRate, channels, "raw:stdin")
            : new RawPcmSource(
                async ct => await Task.Run(() => (Stream)new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None), ct).ConfigureAwait(false),
                sampleRate, channels, $"raw:{path}");

    public static RawPcmSource FromStream(Stream stream, int sampleRate, int channels, string description = "raw:stream") =>
        new(_ => ValueTask.FromResult(stream), sampleRate, channels, description);

    public string Description { get; }

    public async IAsyncEnumerable<ReadOnlyMemory<float>> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        _stream = await _open(cancellationToken).ConfigureAwait(false);
        var decoder = new Pcm16Decoder(_sampleRate, _channels);
        var buffer = new byte[ReadBytes];
        while (true)
        {
            int read;
            try
            {
                read = await _stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectDisposedException) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }
            if (read == 0) break;
            var samples = decoder.Decode(buffer.AsSpan(0, read));
            if (samples.Length > 0) yield return samples;
        }
        var tail = decoder.Flush();
        if (tail.Length > 0) yield return tail;
    }

    public async ValueTask DisposeAsync()
    {
        if (_stream is not null) await _stream.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>A WAV file as a source (tests, replaying a recording through the endpointer).</summary>
public sealed class WavFileSource(string path, int chunkMs = 20) : IAudioSource
{
    public string Description => $"wav:{path}";

    public async IAsyncEnumerable<ReadOnlyMemory<float>> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var clip = await Task.Run(() => WavReader.Read(path), cancellationToken).ConfigureAwait(false);
        var chunk = AudioClip.MsToSamples(chunkMs);
        for (var i = 0; i < clip.Samples.Length; i += chunk)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return clip.Samples.AsMemory(i, Math.Min(chunk, clip.Samples.Length - i));
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
