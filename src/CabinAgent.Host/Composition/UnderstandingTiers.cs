using CabinAgent.Actions;
using CabinAgent.Llm;
using CabinAgent.Understanding;
using CabinAgent.Understanding.Deterministic;
using Microsoft.Extensions.Logging;

namespace CabinAgent.Host.Composition;

/// <summary>
/// The understanding tiers in the order they are tried: the deterministic fast path, then the local model when one
/// is configured. A model that is missing or will not load leaves the agent running on the deterministic tier and
/// the safety layer (and says so), unless <c>Llm:Required</c> makes that a start-up error.
/// </summary>
public sealed class UnderstandingTiers : IDisposable, Daemon.IHealthContributor
{
    private readonly List<IUnderstandingTier> _tiers = [];

    public UnderstandingTiers(AgentOptions agent, LlmOptions llm, ActionCatalog catalog, ILoggerFactory loggers)
    {
        var llmRequired = llm.Required;
        var logger = loggers.CreateLogger("CabinAgent.Understanding");
        _tiers.Add(DeterministicTier.Load(agent.ResolveConfigPath("intents"), catalog));

        if (string.IsNullOrWhiteSpace(llm.ModelPath))
        {
            LlmState = "off: no model configured (Llm:ModelPath)";
            if (llmRequired) throw new InvalidOperationException("the LLM tier is required but Llm:ModelPath is empty");
            logger.LogInformation("LLM tier {State}", LlmState);
            return;
        }
        // The values were checked at start-up; a file that is not there degrades the agent instead.
        var problems = llm.FileProblems();
        try
        {
            if (problems.Count > 0) throw new InvalidDataException(string.Join("; ", problems));
            var tier = LlmTier.Create(llm, catalog, loggers.CreateLogger<LlmTier>());
            _tiers.Add(tier);
            // The engine is named too: which backend package (CPU level, CUDA) or custom build the model runs on.
            LlmState = "loaded: " + Path.GetFileName(llm.ModelPath) + string.Concat(tier.LoraLabels.Select(label => " + LoRA " + label))
                       + " on " + Llm.Native.LlamaLibrary.Version;
        }
        catch (Exception ex) when (!llmRequired && ex is not OutOfMemoryException)
        {
            LlmProblem = $"LLM tier unavailable ({ex.Message}); running on the deterministic tier and the safety layer";
            LlmState = "failed";
            logger.LogError("{Problem}", LlmProblem);
        }
    }

    public IReadOnlyList<IUnderstandingTier> Tiers => _tiers;

    /// <summary><c>off: …</c>, <c>loaded: FILE on ENGINE</c> or <c>failed</c>.</summary>
    public string LlmState { get; } = "off";

    /// <summary>Why the configured model is not in use; null when all is well.</summary>
    public string? LlmProblem { get; }

    public (string Name, string State, string? Problem) Report() => ("llm", LlmState, LlmProblem);

    public void Dispose()
    {
        foreach (var tier in _tiers.OfType<IDisposable>())
            tier.Dispose();
    }
}
