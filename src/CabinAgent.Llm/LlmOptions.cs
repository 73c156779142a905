using Microsoft.Extensions.Options;

namespace CabinAgent.Llm;

/// <summary>Settings of the LLM tier, bound by the Host from the configuration section <c>Llm</c>.</summary>
public sealed class LlmOptions
{
    public const string SectionName = "Llm";

    /// <summary>GGUF model file. Empty: the tier is not created (the Host decides; see <c>models.json</c> for selection).</summary>
    public string ModelPath { get; set; } = "";

    /// <summary>Context length in tokens: system prompt + utterance + output.</summary>
    public int ContextLength { get; set; } = 4096;

    /// <summary>CPU threads (0 = half the cores, at least one).</summary>
    public int Threads { get; set; }

    /// <summary>
    /// Nice value of the decode thread (Linux): above 0 the model yields the CPU to the safety path and the bus on a busy
    /// box. 0 keeps normal priority.
    /// </summary>
    public int DecodeNice { get; set; } = 10;

    /// <summary>
    /// A custom libllama.so (a Jetson or other own build of llama.cpp c0c7e14, the commit LLamaSharp 0.30.0 is built
    /// from) used instead of the backend package's. Empty: LLamaSharp picks from the package restore brought.
    /// </summary>
    public string? NativeLibraryPath { get; set; }

    /// <summary>Layers offloaded to a GPU (CUDA builds on Jetson; 0 on CPU).</summary>
    public int GpuLayers { get; set; }

    /// <summary>Longest utterance accepted, in characters; longer ones are NotUnderstood, never truncated silently.</summary>
    public int MaxUtteranceChars { get; set; } = 2000;

    /// <summary>Most tokens generated for one command (a command is ~10-40 tokens).</summary>
    public int MaxOutputTokens { get; set; } = 128;

    /// <summary>Decoding (prompt and generation) is aborted after this long.</summary>
    public int DecodeDeadlineMs { get; set; } = 3000;

    /// <summary>Below this confidence the tier answers NotUnderstood ("please repeat").</summary>
    public double ConfidenceFloor { get; set; } = 0.35;

    /// <summary>0 = greedy (default). Above 0, top-k / top-p / seed apply.</summary>
    public float Temperature { get; set; }
    public int TopK { get; set; } = 40;
    public float TopP { get; set; } = 0.95f;
    public uint Seed { get; set; } = 1234;

    /// <summary>Chat template override (a llama.cpp built-in name such as <c>chatml</c>, or template text); null = the model's own.</summary>
    public string? ChatTemplate { get; set; }

    /// <summary>
    /// LoRA adapters applied on top of the model (GGUF adapters made for this model, e.g. from a
    /// fine-tune on <c>dataset export</c>), in order. Empty: the base model.
    /// </summary>
    public List<LoraAdapterOptions> LoraAdapters { get; set; } = [];

    /// <summary>
    /// The tier must load: a missing or broken model is a start-up error instead of a degraded start on the
    /// deterministic tier and the safety layer.
    /// </summary>
    public bool Required { get; set; }

    /// <summary>Every problem: the values, and the files that must exist.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(ModelPath)) errors.Add("Llm:ModelPath is required");
        errors.AddRange(FileProblems());
        errors.AddRange(ValueProblems());
        return errors;
    }

    /// <summary>Files that are named but missing: they degrade the agent (no LLM tier) unless <see cref="Required"/>.</summary>
    public IReadOnlyList<string> FileProblems()
    {
        var errors = new List<string>();
        if (!string.IsNullOrWhiteSpace(ModelPath) && !File.Exists(ModelPath)) errors.Add($"Llm:ModelPath '{ModelPath}' does not exist");
        if (!string.IsNullOrWhiteSpace(NativeLibraryPath) && !File.Exists(NativeLibraryPath))
            errors.Add($"Llm:NativeLibraryPath '{NativeLibraryPath}' does not exist (clear it to use the backend package's libllama)");
        for (var i = 0; i < LoraAdapters.Count; i++)
        {
            var path = LoraAdapters[i].Path;
            if (!string.IsNullOrWhiteSpace(path) && !File.Exists(path)) errors.Add($"Llm:LoraAdapters:{i}:Path '{path}' does not exist");
        }
        return errors;
    }

    /// <summary>Values out of range: a configuration mistake, a start-up error whether or not a model is configured.</summary>
    public IReadOnlyList<string> ValueProblems()
    {
        var errors = new List<string>();
        if (ContextLength is < 512 or > 131072) errors.Add("Llm:ContextLength must be 512..131072");
        if (Threads < 0) errors.Add("Llm:Threads must be >= 0");
        if (DecodeNice is < 0 or > 19) errors.Add("Llm:DecodeNice must be 0..19");
        if (GpuLayers < -1) errors.Add("Llm:GpuLayers must be >= -1");
        if (MaxUtteranceChars is < 1 or > 20000) errors.Add("Llm:MaxUtteranceChars must be 1..20000");
        if (MaxOutputTokens is < 16 or > 1024) errors.Add("Llm:MaxOutputTokens must be 16..1024");
        if (DecodeDeadlineMs is < 50 or > 60000) errors.Add("Llm:DecodeDeadlineMs must be 50..60000");
        if (ConfidenceFloor is < 0 or > 1 || double.IsNaN(ConfidenceFloor)) errors.Add("Llm:ConfidenceFloor must be 0..1");
        if (Temperature is < 0 or > 5 || float.IsNaN(Temperature)) errors.Add("Llm:Temperature must be 0..5");
        if (TopK < 0) errors.Add("Llm:TopK must be >= 0");
        if (TopP is <= 0 or > 1 || float.IsNaN(TopP)) errors.Add("Llm:TopP must be in (0, 1]");
        for (var i = 0; i < LoraAdapters.Count; i++)
        {
            var adapter = LoraAdapters[i];
            var key = $"Llm:LoraAdapters:{i}";
            if (string.IsNullOrWhiteSpace(adapter.Path)) errors.Add($"{key}:Path is required");
            if (!float.IsFinite(adapter.Scale) || adapter.Scale is < -LoraAdapterOptions.MaxScale or > LoraAdapterOptions.MaxScale)
                errors.Add($"{key}:Scale must be a number from -{LoraAdapterOptions.MaxScale} to {LoraAdapterOptions.MaxScale}");
        }
        return errors;
    }
}

/// <summary>One LoRA adapter of <see cref="LlmOptions.LoraAdapters"/>.</summary>
public sealed class LoraAdapterOptions
{
    /// <summary>Scales beyond this are a configuration mistake, not a tuning choice.</summary>
    public const float MaxScale = 10;

    /// <summary>The adapter GGUF (<c>general.type = adapter</c>, made for the configured model).</summary>
    public string Path { get; set; } = "";

    /// <summary>Strength: llama.cpp adds scale × alpha / rank × the adapter's update (1 = as trained, 0 = off).</summary>
    public float Scale { get; set; } = 1;
}

/// <summary>
/// Start-up validation for the Host (<c>ValidateOnStart</c>): the values. Missing files are not checked here: a model
/// that is not there degrades the agent to the deterministic tier unless <see cref="LlmOptions.Required"/>.
/// </summary>
public sealed class LlmOptionsValidator : IValidateOptions<LlmOptions>
{
    public ValidateOptionsResult Validate(string? name, LlmOptions options)
    {
        var errors = options.ValueProblems();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
