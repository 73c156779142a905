namespace CabinAgent.Speech.Tests;

/// <summary>Synthetic test signals with known content.</summary>
internal static class Signals
{
    public static float[] Tone(double hz, int ms, double amplitude, int rate = 16_000)
    {
        var n = rate * ms / 1000;
        var s = new float[n];
        for (var i = 0; i < n; i++) s[i] = (float)(amplitude * Math.Sin(2 * Math.PI * hz * i / rate));
        return s;
    }

    public static float[] Silence(int ms, int rate = 16_000) => new float[rate * ms / 1000];

    /// <summary>Deterministic white noise, uniform in [-amplitude, amplitude].</summary>
    public static float[] Noise(int ms, double amplitude, int seed, int rate = 16_000)
    {
        var random = new Random(seed);
        var s = new float[rate * ms / 1000];
        for (var i = 0; i < s.Length; i++) s[i] = (float)(amplitude * (random.NextDouble() * 2 - 1));
        return s;
    }

    public static float[] Concat(params float[][] parts) => parts.SelectMany(p => p).ToArray();

    public static float[] Add(float[] a, float[] b) => a.Zip(b, (x, y) => x + y).ToArray();

    /// <summary>Interleaves channels: channel c of frame f from channels[c][f].</summary>
    public static float[] Interleave(params float[][] channels)
    {
        var frames = channels[0].Length;
        var s = new float[frames * channels.Length];
        for (var f = 0; f < frames; f++)
            for (var c = 0; c < channels.Length; c++)
                s[f * channels.Length + c] = channels[c][f];
        return s;
    }

    public static double Rms(ReadOnlySpan<float> s)
    {
        double sum = 0;
        foreach (var x in s) sum += x * (double)x;
        return Math.Sqrt(sum / Math.Max(1, s.Length));
    }
}
