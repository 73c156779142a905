namespace CabinAgent.Speech.Audio;

/// <summary>
/// Mono audio at 16 kHz, samples in [-1, 1]: the only format the recognizer and the endpointer take.
/// Every source converts to this at its edge so nothing downstream deals with rates or channels.
/// </summary>
public sealed class AudioClip
{
    public const int SampleRate = 16_000;

    public AudioClip(float[] samples) => Samples = samples ?? throw new ArgumentNullException(nameof(samples));

    public float[] Samples { get; }

    public TimeSpan Duration => TimeSpan.FromSeconds((double)Samples.Length / SampleRate);

    public static int MsToSamples(double ms) => (int)Math.Round(ms * SampleRate / 1000.0);

    public static double SamplesToMs(long samples) => samples * 1000.0 / SampleRate;
}
