using System.ComponentModel.DataAnnotations;

namespace CabinAgent.Host.Composition;

/// <summary>
/// Where the agent's data files live and how many utterances may wait; bound from the <c>Agent</c> section. The
/// section's other keys (<c>Tiers</c>, <c>DefaultLang</c>, <c>LogTranscripts</c>) are the pipeline's and bind to
/// <see cref="Pipeline.PipelineOptions"/> directly.
/// </summary>
public sealed class AgentOptions
{
    public const string Section = "Agent";

    /// <summary>Folder holding actions.json, intents/, safety.json. Relative paths resolve against the binary's folder.</summary>
    [Required]
    public string ConfigDirectory { get; set; } = "config";

    /// <summary>
    /// Utterances admitted and waiting for the understanding tiers. One more is answered <c>rejected</c> with reason
    /// <c>busy</c> at once: shedding it beats making telemetry, acknowledgements and emergencies wait behind it.
    /// </summary>
    [Range(1, 100_000)]
    public int QueueCapacity { get; set; } = 64;

    public string ResolveConfigPath(params string[] parts)
    {
        var root = Path.IsPathRooted(ConfigDirectory) ? ConfigDirectory : Path.Combine(AppContext.BaseDirectory, ConfigDirectory);
        return Path.Combine([root, .. parts]);
    }
}
