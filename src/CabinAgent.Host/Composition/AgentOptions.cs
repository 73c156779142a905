using System.ComponentModel.DataAnnotations;

namespace CabinAgent.Host.Composition;

/// <summary>Where the agent's data files live; bound from the <c>Agent</c> section.</summary>
public sealed class AgentOptions
{
    public const string Section = "Agent";

    /// <summary>Folder holding actions.json, intents/, safety.json. Relative paths resolve against the binary's folder.</summary>
    [Required]
    public string ConfigDirectory { get; set; } = "config";

    /// <summary><c>auto</c>, <c>deterministic</c> or <c>llm</c>.</summary>
    [Required, RegularExpression("^(auto|deterministic|llm)$", ErrorMessage = "must be auto, deterministic or llm")]
    public string Tiers { get; set; } = "auto";

    /// <summary>Language for replies when the transcript gives no clue.</summary>
    [Required, RegularExpression("^(zh|en)$", ErrorMessage = "must be zh or en")]
    public string DefaultLang { get; set; } = "zh";

    /// <summary>
    /// Utterances admitted and waiting for the understanding tiers. One more is answered <c>rejected</c> with reason
    /// <c>busy</c> at once: shedding it beats making telemetry, acknowledgements and emergencies wait behind it.
    /// </summary>
    [Range(1, 100_000)]
    public int QueueCapacity { get; set; } = 64;

    /// <summary>Log transcript text at Information level. Off by default: what the driver says is private.</summary>
    public bool LogTranscripts { get; set; }

    public string ResolveConfigPath(params string[] parts)
    {
        var root = Path.IsPathRooted(ConfigDirectory) ? ConfigDirectory : Path.Combine(AppContext.BaseDirectory, ConfigDirectory);
        return Path.Combine([root, .. parts]);
    }
}
