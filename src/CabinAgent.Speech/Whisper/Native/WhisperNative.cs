using System.Runtime.InteropServices;

namespace CabinAgent.Speech.Whisper.Native;

/// <summary>
/// P/Invoke declarations for the parts of whisper.cpp 1.9.1's C API (<c>whisper.h</c>) that we use.
/// Ownership follows the header: every <c>whisper_init_*</c> result is owned by the caller and
/// released by <c>whisper_free</c> (wrapped in <see cref="WhisperContextHandle"/>); every string the
/// library returns (<c>const char *</c>) is owned by the library and valid until the next call on the
/// same context, so it is copied at once. Only this file and the handles touch raw pointers; swapping
/// in Whisper.net later means replacing <see cref="WhisperRecognizer"/>'s use of this class.
/// </summary>
internal static unsafe partial class WhisperNative
{
    /// <summary>Resolved by <see cref="WhisperLibrary"/> to the libwhisper.so Whisper.net loaded.</summary>
    public const string Library = "whisper";

    public const int SamplingGreedy = 0;
    public const int SamplingBeamSearch = 1;

    [LibraryImport(Library)]
    public static partial byte* whisper_version();

    [LibraryImport(Library)]
    public static partial byte* whisper_print_system_info();

    /// <summary>Heap-allocated defaults; the caller frees them with <see cref="whisper_free_context_params"/>.</summary>
    [LibraryImport(Library)]
    public static partial WhisperContextParams* whisper_context_default_params_by_ref();

    [LibraryImport(Library)]
    public static partial void whisper_free_context_params(WhisperContextParams* parameters);

    /// <summary>Heap-allocated defaults; the caller frees them with <see cref="whisper_free_params"/>.</summary>
    [LibraryImport(Library)]
    public static partial WhisperFullParams* whisper_full_default_params_by_ref(int strategy);

    [LibraryImport(Library)]
    public static partial void whisper_free_params(WhisperFullParams* parameters);

    /// <summary>Loads a model file; null on failure (the reason goes to the log callback). Caller owns the result.</summary>
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr whisper_init_from_file_with_params(string pathModel, WhisperContextParams parameters);

    [LibraryImport(Library)]
    public static partial void whisper_free(IntPtr context);

    /// <summary>
    /// Runs mel, encoder and decoder on the samples (16 kHz mono float). Returns 0 on success. Results
    /// live in the context until the next call. Not thread-safe for one context.
    /// </summary>
    [LibraryImport(Library)]
    public static partial int whisper_full(WhisperContextHandle context, WhisperFullParams parameters, float* samples, int nSamples);

    [LibraryImport(Library)]
    public static partial int whisper_full_n_segments(WhisperContextHandle context);

    [LibraryImport(Library)]
    public static partial byte* whisper_full_get_segment_text(WhisperContextHandle context, int segment);

    [LibraryImport(Library)]
    public static partial float whisper_full_get_segment_no_speech_prob(WhisperContextHandle context, int segment);

    [LibraryImport(Library)]
    public static partial int whisper_full_n_tokens(WhisperContextHandle context, int segment);

    [LibraryImport(Library)]
    public static partial float whisper_full_get_token_p(WhisperContextHandle context, int segment, int token);

    [LibraryImport(Library)]
    public static partial int whisper_full_lang_id(WhisperContextHandle context);

    /// <summary>Returns a static string ("en", "zh"); null for an unknown id.</summary>
    [LibraryImport(Library)]
    public static partial byte* whisper_lang_str(int id);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int whisper_lang_id(string lang);

    [LibraryImport(Library)]
    public static partial int whisper_is_multilingual(WhisperContextHandle context);

    [LibraryImport(Library)]
    public static partial int whisper_n_vocab(WhisperContextHandle context);

    [LibraryImport(Library)]
    public static partial int whisper_model_n_audio_layer(WhisperContextHandle context);

    [LibraryImport(Library)]
    public static partial int whisper_model_n_text_state(WhisperContextHandle context);

    /// <summary>Process-wide: routes whisper's and its ggml's log lines to the callback.</summary>
    [LibraryImport(Library)]
    public static partial void whisper_log_set(delegate* unmanaged[Cdecl]<int, byte*, void*, void> callback, void* userData);

    public static string? Utf8(byte* text) => text == null ? null : Marshal.PtrToStringUTF8((IntPtr)text);
}

/// <summary>Mirror of <c>struct whisper_context_params</c> (bools as bytes, C layout).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct WhisperContextParams
{
    public byte UseGpu;
    public byte FlashAttn;
    public int GpuDevice;
    public byte DtwTokenTimestamps;
    public int DtwAheadsPreset;
    public int DtwNTop;
    public nuint DtwAheadsNHeads;
    public IntPtr DtwAheadsHeads;
    public nuint DtwMemSize;
}

/// <summary>Mirror of <c>struct whisper_vad_params</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct WhisperVadParams
{
    public float Threshold;
    public int MinSpeechDurationMs;
    public int MinSilenceDurationMs;
    public float MaxSpeechDurationS;
    public int SpeechPadMs;
    public float SamplesOverlap;
}

/// <summary>
/// Mirror of <c>struct whisper_full_params</c> of whisper.cpp 1.9.1, field for field (bools as bytes,
/// pointers as IntPtr, C layout). A test checks the library's defaults land in the right fields.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct WhisperFullParams
{
    public int Strategy;
    public int NThreads;
    public int NMaxTextCtx;
    public int OffsetMs;
    public int DurationMs;
    public byte Translate;
    public byte NoContext;
    public byte NoTimestamps;
    public byte SingleSegment;
    public byte PrintSpecial;
    public byte PrintProgress;
    public byte PrintRealtime;
    public byte PrintTimestamps;
    public byte TokenTimestamps;
    public float TholdPt;
    public float TholdPtsum;
    public int MaxLen;
    public byte SplitOnWord;
    public int MaxTokens;
    public byte DebugMode;
    public int AudioCtx;
    public byte TdrzEnable;
    public IntPtr SuppressRegex;
    public IntPtr InitialPrompt;
    public byte CarryInitialPrompt;
    public IntPtr PromptTokens;
    public int PromptNTokens;
    public IntPtr Language;
    public byte DetectLanguage;
    public byte SuppressBlank;
    public byte SuppressNst;
    public float Temperature;
    public float MaxInitialTs;
    public float LengthPenalty;
    public float TemperatureInc;
    public float EntropyThold;
    public float LogprobThold;
    public float NoSpeechThold;
    public int GreedyBestOf;
    public int BeamSize;
    public float BeamPatience;
    public IntPtr NewSegmentCallback;
    public IntPtr NewSegmentCallbackUserData;
    public IntPtr ProgressCallback;
    public IntPtr ProgressCallbackUserData;
    public IntPtr EncoderBeginCallback;
    public IntPtr EncoderBeginCallbackUserData;
    public IntPtr AbortCallback;
    public IntPtr AbortCallbackUserData;
    public IntPtr LogitsFilterCallback;
    public IntPtr LogitsFilterCallbackUserData;
    public IntPtr GrammarRules;
    public nuint NGrammarRules;
    public nuint IStartRule;
    public float GrammarPenalty;
    public byte Vad;
    public IntPtr VadModelPath;
    public WhisperVadParams VadParams;
}
