namespace CabinAgent.Speech.Audio;

/// <summary>Settings of the energy voice-activity detector. Defaults suit a cabin microphone.</summary>
public sealed class VadOptions
{
    /// <summary>A frame is voice when its energy is this far above the noise floor (starting from silence).</summary>
    public double OnsetMarginDb { get; set; } = 12;

    /// <summary>Smaller margin while speech is going on, so soft word endings are not cut (hysteresis).</summary>
    public double ContinueMarginDb { get; set; } = 8;

    /// <summary>Frames quieter than this are never voice, whatever the floor (digital silence, a muted mic).</summary>
    public double AbsoluteThresholdDbfs { get; set; } = -55;

    /// <summary>
    /// The noise floor is the quietest frame in this window. Speech always has quiet gaps between
    /// syllables, so the minimum stays at the noise; a lasting rise in noise (a faster road, the fan
    /// turned up) becomes the new floor within this time.
    /// </summary>
    public int NoiseWindowMs { get; set; } = 3000;

    /// <summary>Energy is measured above this frequency: cabin noise (tyres, engine) is mostly below it.</summary>
    public double HighPassHz { get; set; } = 150;

    public void Validate()
    {
        if (OnsetMarginDb <= 0 || ContinueMarginDb <= 0 || ContinueMarginDb > OnsetMarginDb)
            throw new ArgumentException("Vad: margins must be positive and ContinueMarginDb <= OnsetMarginDb");
        if (AbsoluteThresholdDbfs is > 0 or < -120)
            throw new ArgumentException("Vad: AbsoluteThresholdDbfs must be within [-120, 0]");
        if (NoiseWindowMs < 200) throw new ArgumentException("Vad: NoiseWindowMs must be at least 200");
        if (HighPassHz is < 0 or >= 4000) throw new ArgumentException("Vad: HighPassHz must be within [0, 4000)");
    }
}

/// <summary>What the detector decided about one 10 ms frame, with the figures behind it.</summary>
public readonly record struct VadFrame(bool IsVoice, double EnergyDbfs, double NoiseFloorDbfs);

/// <summary>
/// Energy-based voice activity detection on 10 ms frames of 16 kHz mono audio: high-passed frame
/// energy compared with an adaptive noise floor (minimum statistics), with hysteresis. Deterministic
/// and allocation-free per frame.
/// </summary>
public sealed class VoiceActivityDetector
{
    public const int FrameMs = 10;
    public const int FrameSamples = AudioClip.SampleRate * FrameMs / 1000;
    private const double SilenceDbfs = -120;

    private readonly VadOptions _options;
    private readonly double[] _window;
    private int _windowCount;
    private int _windowNext;
    private bool _inVoice;
    // Fourth-order Butterworth high-pass as two biquads; null when HighPassHz is 0.
    private readonly Biquad[]? _highPass;
    public VoiceActivityDetector(VadOptions? options = null)
    {
        _options = options ?? new VadOptions();
        _options.Validate();
        _window = new double[Math.Max(1, _options.NoiseWindowMs / FrameMs)];
        if (_options.HighPassHz > 0)
        {
            // Q values of the two sections of a 4th-order Butterworth: 24 dB/octave, so a loud
            // 60 Hz drone is ~30 dB down while speech formants (300 Hz and up) pass untouched.
            _highPass = [Biquad.HighPass(_options.HighPassHz, 0.5412), Biquad.HighPass(_options.HighPassHz, 1.3066)];
        }
    }

    /// <summary>Classifies one frame of exactly <see cref="FrameSamples"/> samples.</summary>
    public VadFrame Process(ReadOnlySpan<float> frame)
    {
        if (frame.Length != FrameSamples)
            throw new ArgumentException($"a frame is {FrameSamples} samples, got {frame.Length}", nameof(frame));
        double sumSquares = 0;
        foreach (var sample in frame)
        {
            var y = (double)sample;
            if (_highPass is not null)
                for (var i = 0; i < _highPass.Length; i++) y = _highPass[i].Process(y);
            sumSquares += y * y;
        }
        var meanSquare = sumSquares / frame.Length;
        // Full-scale sine has mean square 0.5; report dBFS relative to a full-scale square wave (1.0).
        var energy = meanSquare > 1e-12 ? Math.Max(SilenceDbfs, 10 * Math.Log10(meanSquare)) : SilenceDbfs;

        _window[_windowNext] = energy;
        _windowNext = (_windowNext + 1) % _window.Length;
        _windowCount = Math.Min(_windowCount + 1, _window.Length);
        var floor = double.MaxValue;
        for (var i = 0; i < _windowCount; i++) floor = Math.Min(floor, _window[i]);

        var margin = _inVoice ? _options.ContinueMarginDb : _options.OnsetMarginDb;
        _inVoice = energy >= _options.AbsoluteThresholdDbfs && energy >= floor + margin;
        return new VadFrame(_inVoice, energy, floor);
    }

    /// <summary>
    /// The stream breaks here (push-to-talk released, a connection lost): the next frame does not continue the
    /// last one, so the voice hysteresis and the high-pass filter's memory are cleared. The noise floor is kept.
    /// </summary>
    public void BreakStream()
    {
        _inVoice = false;
        if (_highPass is not null)
            foreach (var section in _highPass) section.Reset();
    }

    public void Reset()
    {
        _windowCount = 0;
        _windowNext = 0;
        _inVoice = false;
        if (_highPass is not null)
            foreach (var section in _highPass) section.Reset();
    }

    /// <summary>One second-order IIR section (RBJ audio-EQ cookbook), direct form I.</summary>
    private sealed class Biquad
    {
        private readonly double _b0, _b1, _b2, _a1, _a2;
        private double _x1, _x2, _y1, _y2;

        private Biquad(double b0, double b1, double b2, double a1, double a2) =>
            (_b0, _b1, _b2, _a1, _a2) = (b0, b1, b2, a1, a2);

        public static Biquad HighPass(double hz, double q)
        {
            var w0 = 2 * Math.PI * hz / AudioClip.SampleRate;
            var alpha = Math.Sin(w0) / (2 * q);
            var cos = Math.Cos(w0);
            var a0 = 1 + alpha;
            return new Biquad((1 + cos) / 2 / a0, -(1 + cos) / a0, (1 + cos) / 2 / a0, -2 * cos / a0, (1 - alpha) / a0);
        }

        public double Process(double x)
        {
            var y = _b0 * x + _b1 * _x1 + _b2 * _x2 - _a1 * _y1 - _a2 * _y2;
            _x2 = _x1; _x1 = x; _y2 = _y1; _y1 = y;
            return y;
        }

        public void Reset() => _x1 = _x2 = _y1 = _y2 = 0;
    }
}
