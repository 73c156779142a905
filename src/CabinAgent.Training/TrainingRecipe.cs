using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CabinAgent.Training;

/// <summary>
/// Everything that decides the trained weights besides the corpus: the network's shape and the optimisation.
/// Recorded in the model (<c>cabin.training_recipe</c>) and hashed, so a cache of trained models can be keyed by
/// corpus recipe + training recipe.
/// </summary>
public sealed record TrainingRecipe
{
    public required string Preset { get; init; }
    public int Embedding { get; init; }
    public int Layers { get; init; }
    public int Heads { get; init; }
    public int FeedForward { get; init; }

    /// <summary>Tokens per packed training window. llama.cpp rounds a context up to a multiple of 256, so it is one.</summary>
    public int Context { get; init; } = 256;

    public int MaxEpochs { get; init; }
    public float LearningRate { get; init; }
    public int WarmupSteps { get; init; }
    public float MinLearningRateFraction { get; init; } = 0.1f;
    public float WeightDecay { get; init; } = 0.01f;

    /// <summary>Epochs without a better validation loss before training stops.</summary>
    public int Patience { get; init; } = 2;

    /// <summary>How many validation examples the per-epoch validation loss reads (a fixed, seeded subset).</summary>
    public int ValidationExamples { get; init; } = 400;

    public int MaxWords { get; init; } = 1500;
    public uint Seed { get; init; } = 42;

    /// <summary>Seconds, for tests: d64 × 2 layers, a few epochs.</summary>
    public static TrainingRecipe Tiny => new()
    {
        Preset = "tiny", Embedding = 64, Layers = 2, Heads = 2, FeedForward = 128,
        MaxEpochs = 6, LearningRate = 3e-3f, WarmupSteps = 4, ValidationExamples = 64, MaxWords = 300,
    };

    /// <summary>Sized for ≤ 15 minutes on the 2-core build machine (docs/llm.md, "The cabin model").</summary>
    public static TrainingRecipe Default => new()
    {
        Preset = "default", Embedding = 256, Layers = 3, Heads = 4, FeedForward = 768,
        MaxEpochs = 8, LearningRate = 1e-3f, WarmupSteps = 100,
    };

    public static TrainingRecipe ForPreset(string preset) => preset switch
    {
        "tiny" => Tiny,
        "default" => Default,
        _ => throw new ArgumentException($"unknown preset '{preset}' (tiny or default)"),
    };

    public string ToJson() => JsonSerializer.Serialize(this);

    [JsonIgnore]
    public string Hash => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ToJson())));

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Embedding < 16 || Embedding % Heads != 0) errors.Add($"embedding {Embedding} must be ≥ 16 and a multiple of heads {Heads}");
        if ((Embedding / Math.Max(Heads, 1)) % 2 != 0) errors.Add("head size must be even (RoPE)");
        if (Layers < 1) errors.Add("layers must be ≥ 1");
        if (Context % 256 != 0) errors.Add($"context {Context} must be a multiple of 256 (llama.cpp rounds contexts up to one)");
        if (MaxEpochs < 1) errors.Add("max epochs must be ≥ 1");
        if (LearningRate is <= 0 or > 1) errors.Add("learning rate must be in (0, 1]");
        return errors;
    }
}
