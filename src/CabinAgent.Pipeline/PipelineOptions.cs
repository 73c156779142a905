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
}
