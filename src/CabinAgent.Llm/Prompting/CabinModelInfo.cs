using CabinAgent.Actions;
using CabinAgent.Llm.Native;

namespace CabinAgent.Llm.Prompting;

/// <summary>
/// The <c>cabin.*</c> block of a model trained by <c>cabin-agent models train</c>: which catalog it learned (action
/// names and a hash), from which corpus recipe, with which training recipe. Its presence is how the LLM tier knows
/// to use the short prompt instead of the catalog system prompt.
/// </summary>
public sealed record CabinModelInfo(IReadOnlyList<string> Actions, string CatalogHash, string CorpusRecipeHash, string TrainingRecipe, string TrainingRecipeHash)
{
    /// <summary>
    /// The block of <paramref name="model"/>, or null for a model without one. A block of another prompt format, or a
    /// broken one, is an error naming the file and what to do: serving it with the wrong prompt would answer nonsense.
    /// </summary>
    public static CabinModelInfo? Read(LlamaModel model)
    {
        var format = model.Metadata(CabinPrompt.KeyFormat);
        if (format is null) return null;
        if (format != CabinPrompt.Format)
            throw new LlamaException($"{model.Path} is a cabin model of format '{format}', this agent serves '{CabinPrompt.Format}': retrain it with `cabin-agent models train`");
        var actions = model.Metadata(CabinPrompt.KeyActions);
        var hash = model.Metadata(CabinPrompt.KeyCatalogHash);
        if (actions is null || hash is null)
            throw new LlamaException($"{model.Path} has a cabin block without {CabinPrompt.KeyActions} / {CabinPrompt.KeyCatalogHash} (not written by `cabin-agent models train`?): retrain it");
        return new CabinModelInfo(ParseArray(actions), hash, model.Metadata(CabinPrompt.KeyCorpusHash) ?? "",
            model.Metadata(CabinPrompt.KeyTrainingRecipe) ?? "", model.Metadata(CabinPrompt.KeyTrainingRecipeHash) ?? "");
    }

    // One comma-separated string: llama.cpp keeps no array-valued keys in a model's metadata map.
    private static List<string> ParseArray(string text) =>
        text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();

    /// <summary>The catalog actions this model never saw.</summary>
    public IReadOnlyList<string> UnknownActions(ActionCatalog catalog) =>
        catalog.Actions.Select(a => a.Name).Where(n => !Actions.Contains(n, StringComparer.Ordinal)).ToList();

    /// <summary>
    /// A warning when the catalog changed since training (new actions, or the parameters of known ones), else null.
    /// A warning, not an error: the model still answers what it knows, and the grammar keeps its output valid.
    /// </summary>
    public string? CatalogWarning(ActionCatalog catalog)
    {
        if (CatalogHash == CabinPrompt.CatalogHash(catalog)) return null;
        var unknown = UnknownActions(catalog);
        return unknown.Count > 0
            ? $"the catalog changed since this cabin model was trained: it does not know {string.Join(", ", unknown)}; retrain it with `cabin-agent models train` to understand them"
            : "the catalog changed since this cabin model was trained (parameters of known actions, catalog hash differs); retrain it with `cabin-agent models train`";
    }
}
