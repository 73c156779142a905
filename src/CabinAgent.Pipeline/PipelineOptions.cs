namespace CabinAgent.Pipeline;

/// <summary>Which understanding tiers the pipeline may use.</summary>
public enum TierMode
{
    /// <summary>Deterministic first, then the LLM when one is configured.</summary>
    Auto,
    Deterministic,
    Llm,
}

public sealed class PipelineOptions
{
    public TierMode Tiers { get; set; } = TierMode.Auto;

    /// <summary>Language for replies when the transcript gives no clue.</summary>
    public string DefaultLang { get; set; } = "zh";

    /// <summary>Log what the driver said at Information level. Off by default: transcripts are private.</summary>
    public bool LogTranscripts { get; set; }
}
