namespace CabinAgent.Speech.Audio;

/// <summary>
/// Converts interleaved audio at any rate and channel count to 16 kHz mono, in one shot or as a
/// stream of chunks (<see cref="StreamingResampler"/>); both give the same samples.
/// </summary>
public static class Resampler
{
    public static float[] ToMono16k(ReadOnlySpan<float> interleaved, int sampleRate, int channels)
    {
        var mono = Downmix(interleaved, channels);
        if (sampleRate == AudioClip.SampleRate) return mono;
        var resampler = new StreamingResampler(sampleRate, AudioClip.SampleRate);
        var head = resampler.Process(mono);
        var tail = resampler.Flush();
        var all = new float[head.Length + tail.Length];
        head.CopyTo(all, 0);
        tail.CopyTo(all, head.Length);
        return all;
    }

    /// <summary>Averages the channels of each frame. A trailing partial frame is dropped.</summary>
    public static float[] Downmix(ReadOnlySpan<float> interleaved, int channels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        if (channels == 1) return interleaved.ToArray();
        var frames = interleaved.Length / channels;
        var mono = new float[frames];
        for (var f = 0; f < frames; f++)
        {
            var sum = 0f;
            for (var c = 0; c < channels; c++) sum += interleaved[f * channels + c];
            mono[f] = sum / channels;
        }
        return mono;
    }
}

/// <summary>
/// Band-limited resampling with a Kaiser-windowed sinc, for an arbitrary rate ratio, fed chunk by
/// chunk. The low-pass cut-off sits just under the lower of the two Nyquist frequencies, so
/// downsampling 48 kHz to 16 kHz removes everything above 8 kHz instead of folding it into the
/// speech band. Output sample n lies exactly at input time n * inRate / outRate: no delay.
/// </summary>
public sealed class StreamingResampler
{
    private const int HalfTaps = 16;      // zero crossings each side, at the cut-off frequency
    private const int TableOversampling = 256; // kernel table points per input sample, linearly interpolated
    private const double KaiserBeta = 8.6; // about 80 dB stop-band attenuation
    private const double CutoffFraction = 0.94; // of the lower Nyquist: leaves room for the transition band

    private readonly int _inRate;
    private readonly int _outRate;
    private readonly double _cutoff;  // normalised to the input rate (cycles per input sample)
    private readonly int _halfWidth;  // input samples each side of an output point
    private readonly double[] _kernelTable;
    private float[] _buffer;
    private int _count;
    private long _bufferStart;  // absolute input index of _buffer[0]; the stream starts after _halfWidth zeros
    private long _outIndex;
    private bool _flushed;

    public StreamingResampler(int inRate, int outRate)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inRate, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outRate, 1);
        _inRate = inRate;
        _outRate = outRate;
        _cutoff = 0.5 * CutoffFraction * Math.Min(inRate, outRate) / inRate;
        _halfWidth = (int)Math.Ceiling(HalfTaps / (2 * _cutoff));
        _kernelTable = new double[_halfWidth * TableOversampling + 2];
        var i0Beta = BesselI0(KaiserBeta);
        for (var i = 0; i < _kernelTable.Length; i++)
            _kernelTable[i] = Kernel((double)i / TableOversampling, i0Beta);
        _buffer = new float[Math.Max(4096, 4 * _halfWidth)];
        _count = _halfWidth; // leading zeros so the first output sample has its full left wing
    }

    public int InputRate => _inRate;
    public int OutputRate => _outRate;

    /// <summary>Feeds input samples and returns every output sample whose filter window is complete.</summary>
    public float[] Process(ReadOnlySpan<float> input)
    {
        if (_flushed) throw new InvalidOperationException("the resampler was flushed");
        Append(input);
        return Drain(final: false);
    }

    /// <summary>Returns the remaining output, up to the end of the input fed so far.</summary>
    public float[] Flush()
    {
        if (_flushed) return [];
        _flushed = true;
        var fedSamples = _bufferStart + _count - _halfWidth;
        Append(new float[_halfWidth + 1]);
        return Drain(final: true, inputEnd: fedSamples);
    }

    private void Append(ReadOnlySpan<float> input)
    {
        if (_count + input.Length > _buffer.Length)
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _count + input.Length));
        input.CopyTo(_buffer.AsSpan(_count));
        _count += input.Length;
    }

    private float[] Drain(bool final, long inputEnd = long.MaxValue)
    {
        var output = new List<float>();
        while (true)
        {
            // Position of the next output sample in the input's timeline (before padding).
            var position = (double)_outIndex * _inRate / _outRate;
            if (final && position >= inputEnd) break;
            var center = position + _halfWidth; // absolute index in the padded stream
            var last = (long)Math.Floor(center) + _halfWidth;
            if (last >= _bufferStart + _count) break;
            output.Add(Interpolate(center));
            _outIndex++;
        }
        // Drop input no longer needed by any future output sample.
        var nextCenter = (double)_outIndex * _inRate / _outRate + _halfWidth;
        var keepFrom = (long)Math.Floor(nextCenter) - _halfWidth;
        var drop = (int)Math.Clamp(keepFrom - _bufferStart, 0, _count);
        if (drop > 0)
        {
            Array.Copy(_buffer, drop, _buffer, 0, _count - drop);
            _count -= drop;
            _bufferStart += drop;
        }
        return output.ToArray();
    }

    private float Interpolate(double center)
    {
        var first = (long)Math.Floor(center) - _halfWidth + 1;
        double sum = 0, weightSum = 0;
        for (var k = first; k <= first + 2 * _halfWidth - 1; k++)
        {
            var distance = center - k;
            var w = LookupKernel(Math.Abs(distance));
            sum += w * _buffer[k - _bufferStart];
            weightSum += w;
        }
        // Normalising by the summed weights keeps DC gain exactly 1 whatever the fractional phase.
        return (float)(weightSum == 0 ? 0 : sum / weightSum);
    }

    private double LookupKernel(double distance)
    {
        var scaled = distance * TableOversampling;
        var i = (int)scaled;
        if (i >= _kernelTable.Length - 1) return 0;
        var frac = scaled - i;
        return _kernelTable[i] + (_kernelTable[i + 1] - _kernelTable[i]) * frac;
    }

    private double Kernel(double distance, double i0Beta)
    {
        var x = distance / _halfWidth;
        if (Math.Abs(x) >= 1) return 0;
        var window = BesselI0(KaiserBeta * Math.Sqrt(1 - x * x)) / i0Beta;
        var arg = 2 * _cutoff * distance;
        var sinc = Math.Abs(arg) < 1e-12 ? 1.0 : Math.Sin(Math.PI * arg) / (Math.PI * arg);
        return 2 * _cutoff * sinc * window;
    }

    private static double BesselI0(double x)
    {
        double sum = 1, term = 1, half = x / 2;
        for (var k = 1; k < 50; k++)
        {
            term *= half / k * (half / k);
            sum += term;
            if (term < 1e-12 * sum) break;
        }
        return sum;
    }
}
