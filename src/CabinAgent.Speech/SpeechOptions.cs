using CabinAgent.Speech.Audio;
using CabinAgent.Speech.Sources;

namespace CabinAgent.Speech;

/// <summary>Config section <c>Speech</c>. Validated at start-up: a bad value stops the daemon with a clear message.</summary>
public sealed class SpeechOptions
{
    public const string SectionName = "Speech";

    /// <summary>whisper.cpp ggml model file (e.g. ggml-small.bin, or the generated test model).</summary>
    public string ModelPath { get; set; } = "";

    /// <summary><c>zh</c>, <c>en</c> or <c>auto</c> (detect per utterance).</summary>
    public string Language { get; set; } = "auto";

    /// <summary>Use the GPU when the loaded libwhisper.so was built with CUDA (see docs/speech.md); the default CPU build ignores it.</summary>
    public bool UseGpu { get; set; }

    /// <summary>Decoder threads; 0 means all cores.</summary>
    public int Threads { get; set; }

    /// <summary>
    /// Prompt for Mandarin (and auto) decoding. whisper mixes Traditional and Simplified characters
    /// without it; a short Simplified sentence steers it to Simplified.
    /// </summary>
    public string InitialPromptZh { get; set; } = "以下是普通话的句子。";

    /// <summary>Prompt for English decoding; empty for none.</summary>
    public string InitialPromptEn { get; set; } = "";

    /// <summary>whisper's no-speech probability above which (with a low log-probability) a window is silence.</summary>
    public float NoSpeechThreshold { get; set; } = 0.6f;

    /// <summary>Average token log-probability under which a decode is retried hotter or treated as silence.</summary>
    public float LogProbThreshold { get; set; } = -1.0f;

    /// <summary>Entropy threshold for repetition loops (whisper's compression-ratio stand-in).</summary>
    public float EntropyThreshold { get; set; } = 2.4f;

    /// <summary>Temperature step for fallback decoding; 0 disables fallback (fastest, slightly less robust).</summary>
    public float TemperatureIncrement { get; set; } = 0.2f;

    /// <summary>Upper bound on tokens per utterance: commands are short, and it caps a runaway decode.</summary>
    public int MaxTokens { get; set; } = 96;

    /// <summary>
    /// Phrases whisper invents on silence or noise (learned from subtitles). They are dropped when the
    /// audio is near-silent, or when whisper itself thinks there was no speech.
    /// </summary>
    public List<string> HallucinationPhrases { get; set; } =
    [
        "谢谢观看", "谢谢大家", "谢谢收看", "感谢观看", "请不吝点赞 订阅 转发 打赏支持明镜与点点栏目",
        "字幕由Amara.org社区提供", "字幕志愿者", "优优独播剧场——YoYo Television Series Exclusive",
        "Thank you.", "Thanks for watching!", "Thank you for watching.", "Thank you for watching!",
        "Please subscribe.", "Subtitles by the Amara.org community", "you", "Bye.",
    ];

    /// <summary>Audio whose RMS level is below this is near-silent (for the hallucination filter).</summary>
    public double NearSilenceDbfs { get; set; } = -45;

    /// <summary>No-speech probability above which a known hallucination phrase is dropped whatever the level.</summary>
    public float HallucinationNoSpeechProbability { get; set; } = 0.3f;

    public EndpointerOptions Endpointing { get; set; } = new();

    public AudioInputOptions Input { get; set; } = new();

    public static readonly string[] Languages = ["zh", "en", "auto"];

    /// <summary>Throws with every problem found, so one restart fixes them all.</summary>
    public void Validate(bool requireModel = true)
    {
        var errors = new List<string>();
        if (requireModel)
        {
            if (string.IsNullOrWhiteSpace(ModelPath)) errors.Add("Speech:ModelPath is not set");
            else if (!File.Exists(ModelPath)) errors.Add($"Speech:ModelPath '{ModelPath}' does not exist");
        }
        if (!Languages.Contains(Language)) errors.Add($"Speech:Language '{Language}' is not one of zh, en, auto");
        if (Threads < 0 || Threads > 256) errors.Add("Speech:Threads must be 0 (all cores) to 256");
        if (NoSpeechThreshold is < 0 or > 1) errors.Add("Speech:NoSpeechThreshold must be within [0, 1]");
        if (LogProbThreshold > 0) errors.Add("Speech:LogProbThreshold must be <= 0 (a log-probability)");
        if (TemperatureIncrement is < 0 or > 1) errors.Add("Speech:TemperatureIncrement must be within [0, 1]");
        if (MaxTokens is < 1 or > 224) errors.Add("Speech:MaxTokens must be within [1, 224]");
        if (NearSilenceDbfs is > 0 or < -120) errors.Add("Speech:NearSilenceDbfs must be within [-120, 0]");
        try { Endpointing.Validate(); } catch (ArgumentException e) { errors.Add("Speech:" + e.Message); }
        try { Input.Validate(); } catch (ArgumentException e) { errors.Add("Speech:" + e.Message); }
        if (errors.Count > 0) throw new ArgumentException(string.Join("; ", errors));
    }

    public int EffectiveThreads => Threads == 0 ? Environment.ProcessorCount : Threads;
}
