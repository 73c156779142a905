using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using CabinAgent.Speech.Audio;
using CabinAgent.Speech.Whisper.Native;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CabinAgent.Speech.Whisper;

/// <summary>
/// whisper.cpp in process: one loaded model, one utterance at a time (a whisper context is not
/// thread-safe; calls queue on a semaphore). Decoding is tuned for short commands: a single segment,
/// no timestamps, no carried context, a token cap, and whisper's silence thresholds, followed by the
/// <see cref="HallucinationFilter"/>.
/// </summary>
public sealed class WhisperRecognizer : ISpeechRecognizer
{
    /// <summary>whisper.cpp refuses less than 100 ms; shorter input is padded with silence to this.</summary>
    private const int MinSamples = AudioClip.SampleRate / 5;

    private readonly SpeechOptions _options;
    private readonly ILogger _logger;
    private readonly WhisperContextHandle _context;
    private readonly HallucinationFilter _filter;
    private readonly SemaphoreSlim _gate = new(1, 1);
    // Native strings handed to whisper_full; freed on dispose.
    private readonly IntPtr _promptZh, _promptEn;
    private readonly Dictionary<string, IntPtr> _languageStrings = new();

    private WhisperRecognizer(SpeechOptions options, ILogger logger, WhisperContextHandle context)
    {
        _options = options;
        _logger = logger;
        _context = context;
        _filter = HallucinationFilter.FromOptions(options);
        _promptZh = NullableUtf8(options.InitialPromptZh);
        _promptEn = NullableUtf8(options.InitialPromptEn);
        foreach (var language in new[] { "zh", "en", "auto" })
            _languageStrings[language] = Marshal.StringToCoTaskMemUTF8(language);
    }

    /// <summary>
    /// Loads the model in <see cref="SpeechOptions.ModelPath"/>. Throws <see cref="SpeechRecognitionException"/>
    /// when the library cannot be found or the file is not a whisper model (whisper's reason is logged).
    /// </summary>
    public static unsafe WhisperRecognizer Load(SpeechOptions options, ILogger? logger = null)
    {
        options.Validate(requireModel: true);
        logger ??= NullLogger.Instance;
        try
        {
            WhisperLog.Install(logger);
        }
        catch (DllNotFoundException e)
        {
            throw new SpeechRecognitionException(WhisperLibrary.LoadError, e);
        }

        var defaults = WhisperNative.whisper_context_default_params_by_ref();
        var contextParams = *defaults;
        WhisperNative.whisper_free_context_params(defaults);
        contextParams.UseGpu = options.UseGpu ? (byte)1 : (byte)0;
        contextParams.FlashAttn = 0;

        var stopwatch = Stopwatch.StartNew();
        var raw = WhisperNative.whisper_init_from_file_with_params(options.ModelPath, contextParams);
        if (raw == IntPtr.Zero)
            throw new SpeechRecognitionException($"whisper.cpp could not load the model '{options.ModelPath}' (see the whisper.cpp log lines for the reason)");
        var context = WhisperContextHandle.FromOwned(raw);
        logger.LogInformation("whisper.cpp {Version} (Whisper.net {Package}, {Runtime} runtime) loaded {Model} in {Ms} ms from {Library}; {SystemInfo} (multilingual: {Multilingual}, threads: {Threads})",
            WhisperLibrary.NativeVersion(), WhisperLibrary.PackageVersion, WhisperLibrary.Runtime, options.ModelPath, stopwatch.ElapsedMilliseconds,
            WhisperLibrary.LoadedFrom, WhisperLibrary.SystemInfo(),
            WhisperNative.whisper_is_multilingual(context) != 0, options.EffectiveThreads);
        return new WhisperRecognizer(options, logger, context);
    }

    public bool IsMultilingual => WhisperNative.whisper_is_multilingual(_context) != 0;

    public int VocabularySize => WhisperNative.whisper_n_vocab(_context);

    /// <summary>
    /// Test seam: runs on whisper's thread each time whisper asks whether to abort, before the
    /// answer is read, so a test can cancel at an exact point of a run instead of racing a timer.
    /// </summary>
    internal Action? AbortQueried { get; set; }

    public async ValueTask<Transcript> TranscribeAsync(ReadOnlyMemory<float> samples16kMono, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_context.IsClosed, this);
        cancellationToken.ThrowIfCancellationRequested();
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // whisper_full blocks for hundreds of milliseconds: keep it off the caller's thread.
            return await Task.Run(() => Transcribe(samples16kMono, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private unsafe Transcript Transcribe(ReadOnlyMemory<float> samples, CancellationToken cancellationToken)
    {
        var audio = samples.Length >= MinSamples ? samples : Pad(samples);
        var audioMs = AudioClip.SamplesToMs(samples.Length);
        var level = HallucinationFilter.LevelDbfs(samples.Span);

        var defaults = WhisperNative.whisper_full_default_params_by_ref(WhisperNative.SamplingGreedy);
        var p = *defaults;
        WhisperNative.whisper_free_params(defaults);
        p.NThreads = _options.EffectiveThreads;
        p.NoContext = 1;
        p.NoTimestamps = 1;
        p.SingleSegment = 1;
        p.PrintProgress = 0;
        p.PrintRealtime = 0;
        p.PrintTimestamps = 0;
        p.PrintSpecial = 0;
        p.MaxTokens = _options.MaxTokens;
        p.Language = _languageStrings[_options.Language];
        p.DetectLanguage = 0; // "auto" in Language makes whisper_full detect and then transcribe
        p.InitialPrompt = _options.Language == "en" ? _promptEn : _promptZh;
        p.SuppressBlank = 1;
        p.SuppressNst = 1;
        p.NoSpeechThold = _options.NoSpeechThreshold;
        p.LogprobThold = _options.LogProbThreshold;
        p.EntropyThold = _options.EntropyThreshold;
        p.TemperatureInc = _options.TemperatureIncrement;

        // Cancellation: whisper asks the abort callback before every graph computation.
        var cancelFlag = new CancelFlag(cancellationToken, AbortQueried);
        var flagHandle = GCHandle.Alloc(cancelFlag);
        p.AbortCallback = (IntPtr)(delegate* unmanaged[Cdecl]<void*, byte>)&OnAbortQuery;
        p.AbortCallbackUserData = GCHandle.ToIntPtr(flagHandle);

        var stopwatch = Stopwatch.StartNew();
        int rc;
        try
        {
            fixed (float* data = audio.Span)
                rc = WhisperNative.whisper_full(_context, p, data, audio.Length);
        }
        finally
        {
            flagHandle.Free();
        }
        stopwatch.Stop();
        cancellationToken.ThrowIfCancellationRequested();
        if (rc != 0)
            throw new SpeechRecognitionException($"whisper_full failed with code {rc}");

        var text = new StringBuilder();
        var noSpeech = 0f;
        var segments = WhisperNative.whisper_full_n_segments(_context);
        for (var i = 0; i < segments; i++)
        {
            text.Append(WhisperNative.Utf8(WhisperNative.whisper_full_get_segment_text(_context, i)));
            noSpeech = Math.Max(noSpeech, WhisperNative.whisper_full_get_segment_no_speech_prob(_context, i));
        }
        var language = WhisperNative.Utf8(WhisperNative.whisper_lang_str(WhisperNative.whisper_full_lang_id(_context)))
                       ?? (_options.Language == "auto" ? "" : _options.Language);
        var ms = stopwatch.Elapsed.TotalMilliseconds;
        var rtf = audioMs > 0 ? ms / audioMs : 0;
        var transcript = CleanText(text.ToString());

        var dropped = _filter.ShouldDrop(transcript, level, noSpeech);
        if (dropped is not null)
        {
            _logger.LogInformation("ASR text dropped: {Reason}", dropped);
            return new Transcript("", language, Math.Round(ms, 1), Math.Round(rtf, 4)) { DroppedReason = dropped, NoSpeechProbability = noSpeech };
        }
        return new Transcript(transcript, language, Math.Round(ms, 1), Math.Round(rtf, 4)) { NoSpeechProbability = noSpeech };
    }

    /// <summary>Trims and removes bracketed non-speech annotations whisper writes: "[音乐]", "(music)", "[BLANK_AUDIO]".</summary>
    internal static string CleanText(string text)
    {
        var cleaned = System.Text.RegularExpressions.Regex.Replace(text, @"\[[^\]]*\]|\([^)]*\)|（[^）]*）|【[^】]*】", "");
        return cleaned.Trim();
    }

    private static ReadOnlyMemory<float> Pad(ReadOnlyMemory<float> samples)
    {
        var padded = new float[MinSamples];
        samples.Span.CopyTo(padded);
        return padded;
    }

    private sealed class CancelFlag(CancellationToken token, Action? queried)
    {
        public bool IsCancelled
        {
            get
            {
                queried?.Invoke();
                return token.IsCancellationRequested;
            }
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static unsafe byte OnAbortQuery(void* userData)
    {
        try
        {
            var flag = (CancelFlag?)GCHandle.FromIntPtr((IntPtr)userData).Target;
            return flag is { IsCancelled: true } ? (byte)1 : (byte)0;
        }
        catch
        {
            return 0;
        }
    }

    private static IntPtr NullableUtf8(string text) =>
        string.IsNullOrEmpty(text) ? IntPtr.Zero : Marshal.StringToCoTaskMemUTF8(text);

    public void Dispose()
    {
        if (_context.IsClosed) return;
        _gate.Wait();
        try
        {
            _context.Dispose();
            Marshal.FreeCoTaskMem(_promptZh);
            Marshal.FreeCoTaskMem(_promptEn);
            foreach (var ptr in _languageStrings.Values) Marshal.FreeCoTaskMem(ptr);
            _languageStrings.Clear();
        }
        finally
        {
            _gate.Release();
        }
    }
}
