using CabinAgent.Llm.Native;
using CabinAgent.Host.Commands;
using CabinAgent.Host.Composition;
using CabinAgent.Llm;
using CabinAgent.Training;
using Microsoft.Extensions.DependencyInjection;
using CabinAgent.Understanding;

namespace CabinAgent.IntegrationTests;

/// <summary>LoRA adapters from the daemon's configuration, as the composition loads them.</summary>
public class LoraCompositionTests
{
    private static ServiceProvider Compose(Dictionary<string, string?> overrides)
    {
        overrides["Mqtt:OutboxPath"] = AgentUnderTest.NewOutboxPath();
        overrides["Llm:ModelPath"] = TestModelBuilder.EnsureDefault();
        overrides["Llm:Threads"] = "1";
        return CliSupport.BuildAgent(AgentComposition.BuildConfiguration(null, overrides), verbose: false);
    }

    [Fact]
    public void ConfiguredAdaptersAreAppliedAndNamedInTheHealthState()
    {
        var adapter = TestModelBuilder.EnsureDefaultLora();
        using var services = Compose(new Dictionary<string, string?>
        {
            ["Llm:LoraAdapters:0:Path"] = adapter, ["Llm:LoraAdapters:0:Scale"] = "0.75",
        });

        var tiers = services.GetRequiredService<UnderstandingTiers>();
        var llm = Assert.Single(tiers.Tiers.OfType<LlmTier>());
        Assert.Equal(adapter, Assert.Single(llm.LoraAdapters).Path);
        Assert.Equal([0.75f], llm.LoraScales);
        Assert.Equal(("llm", "loaded: test-llm-v1.gguf + LoRA test-lora-v1-for-test-llm-v1.gguf (scale 0.75) on " + LlamaLibrary.Version, (string?)null),
            tiers.Report());
        Assert.StartsWith("LLamaSharp 0.30.0 (llama.cpp c0c7e14, ", LlamaLibrary.Version);
    }

    [Fact]
    public void AnAdapterThatDoesNotFitLeavesTheAgentOnTheDeterministicTierAndSaysWhy()
    {
        var model = TestModelBuilder.EnsureDefault();
        using var services = Compose(new Dictionary<string, string?> { ["Llm:LoraAdapters:0:Path"] = model });

        var tiers = services.GetRequiredService<UnderstandingTiers>();
        Assert.Equal([Tier.Deterministic], tiers.Tiers.Select(t => t.Name));
        var (_, state, problem) = tiers.Report();
        Assert.Equal("failed", state);
        Assert.Equal($"LLM tier unavailable (llama.cpp refused the LoRA adapter '{model}' for model '{model}': expect general.type to be " +
                     "'adapter', but got: ); running on the deterministic tier and the safety layer", problem);
    }
}
