using CabinAgent.Actions;
using CabinAgent.Llm.Prompting;
using CabinAgent.Training.Tokenizer;

namespace CabinAgent.Training;

/// <summary>What a cabin model records about how it was made (the <c>cabin.*</c> block).</summary>
public sealed record CabinModelStamp(IReadOnlyList<string> Actions, string CatalogHash, string CorpusRecipeHash, TrainingRecipe Recipe)
{
    public static CabinModelStamp For(ActionCatalog catalog, string corpusRecipeHash, TrainingRecipe recipe) =>
        new(catalog.Actions.Select(a => a.Name).ToArray(), CabinPrompt.CatalogHash(catalog), corpusRecipeHash, recipe);

    internal void WriteTo(GgufWriter gguf)
    {
        gguf.Set(CabinPrompt.KeyFormat, CabinPrompt.Format);
        gguf.Set(CabinPrompt.KeyActions, string.Join(",", Actions)); // a string: llama.cpp drops array keys from its metadata map
        gguf.Set(CabinPrompt.KeyCatalogHash, CatalogHash);
        gguf.Set(CabinPrompt.KeyCorpusHash, CorpusRecipeHash);
        gguf.Set(CabinPrompt.KeyTrainingRecipe, Recipe.ToJson());
        gguf.Set(CabinPrompt.KeyTrainingRecipeHash, Recipe.Hash);
        // llama_model_save_to_file does not write this flag and llama.cpp's SPM default is true: the prompt and the
        // answers were tokenized without a leading space mark, so say so in every file.
        gguf.Set("tokenizer.ggml.add_space_prefix", false);
    }
}

/// <summary>
/// Writes a from-scratch llama-architecture model: the <see cref="CabinVocabulary"/> as an SPM tokenizer, the
/// shape of the <see cref="TrainingRecipe"/>, the <c>cabin.*</c> block and seeded random F32 weights.
/// </summary>
internal static class CabinModelWriter
{
    public static void WriteInitial(string path, CabinVocabulary vocab, TrainingRecipe recipe, CabinModelStamp stamp)
    {
        using var gguf = GgufWriter.Empty();
        gguf.Set("general.architecture", "llama");
        gguf.Set("general.name", $"cabin-agent cabin model ({recipe.Preset})");
        gguf.Set("general.file_type", 0u);
        gguf.Set("llama.block_count", (uint)recipe.Layers);
        gguf.Set("llama.context_length", (uint)recipe.Context);
        gguf.Set("llama.embedding_length", (uint)recipe.Embedding);
        gguf.Set("llama.feed_forward_length", (uint)recipe.FeedForward);
        gguf.Set("llama.attention.head_count", (uint)recipe.Heads);
        gguf.Set("llama.attention.head_count_kv", (uint)recipe.Heads);
        gguf.Set("llama.rope.dimension_count", (uint)(recipe.Embedding / recipe.Heads));
        gguf.Set("llama.rope.freq_base", 10_000f);
        gguf.Set("llama.attention.layer_norm_rms_epsilon", 1e-5f);
        gguf.Set("llama.vocab_size", (uint)vocab.Tokens.Count);
        gguf.Set("tokenizer.ggml.model", "llama");
        gguf.Set("tokenizer.ggml.tokens", vocab.Tokens);
        gguf.Set("tokenizer.ggml.scores", vocab.Scores.ToArray());
        gguf.Set("tokenizer.ggml.token_type", vocab.Types.Select(t => (int)t).ToArray());
        gguf.Set("tokenizer.ggml.unknown_token_id", (uint)CabinVocabulary.UnknownId);
        gguf.Set("tokenizer.ggml.bos_token_id", (uint)CabinVocabulary.BosId);
        gguf.Set("tokenizer.ggml.eos_token_id", (uint)CabinVocabulary.EosId);
        gguf.Set("tokenizer.ggml.add_bos_token", true);
        gguf.Set("tokenizer.ggml.add_eos_token", false);
        stamp.WriteTo(gguf);

        var n = (long)recipe.Embedding;
        var ff = (long)recipe.FeedForward;
        var v = (long)vocab.Tokens.Count;
        // Output is its own matrix, not tied to the embedding: llama.cpp's trainer gives token_embd no gradient.
        var tensors = new List<(string, long, long)> { ("token_embd.weight", n, v), ("output_norm.weight", n, 1), ("output.weight", n, v) };
        for (var i = 0; i < recipe.Layers; i++)
        {
            tensors.Add(($"blk.{i}.attn_norm.weight", n, 1));
            tensors.Add(($"blk.{i}.attn_q.weight", n, n));
            tensors.Add(($"blk.{i}.attn_k.weight", n, n));
            tensors.Add(($"blk.{i}.attn_v.weight", n, n));
            tensors.Add(($"blk.{i}.attn_output.weight", n, n));
            tensors.Add(($"blk.{i}.ffn_norm.weight", n, 1));
            tensors.Add(($"blk.{i}.ffn_gate.weight", n, ff));
            tensors.Add(($"blk.{i}.ffn_up.weight", n, ff));
            tensors.Add(($"blk.{i}.ffn_down.weight", ff, n));
        }
        gguf.WriteF32(path, tensors, (name, count) => Initial(name, count, recipe));
    }

    // Norms 1. What llama.cpp cannot train (TrainedTensors) is a fixed random projection scaled to keep the norm of
    // its input (std 1/sqrt(fan-in); unit-variance embedding rows), the frozen layers' residual outputs at half that so
    // the stream stays dominated by the tokens while it mixes in their context. The trained matrices start small
    // (std 0.02, the residual outputs smaller still by depth), as usual for transformers.
    private static float[] Initial(string name, long count, TrainingRecipe recipe)
    {
        var data = new float[count];
        if (name.Contains("norm", StringComparison.Ordinal))
        {
            data.AsSpan().Fill(1f);
            return data;
        }
        var residualOut = name.EndsWith("attn_output.weight", StringComparison.Ordinal) || name.EndsWith("ffn_down.weight", StringComparison.Ordinal);
        var fanIn = name.EndsWith("ffn_down.weight", StringComparison.Ordinal) ? recipe.FeedForward : recipe.Embedding;
        var std = name == "token_embd.weight" ? 1.0
            : !TrainedTensors.IsTrained(name, recipe.Layers) ? (residualOut ? 0.5 : 1.0) / Math.Sqrt(fanIn)
            : residualOut ? 0.02 / Math.Sqrt(2.0 * recipe.Layers)
            : 0.02;
        var rng = new Random((int)(recipe.Seed ^ StableHash(name)));
        var half = std * Math.Sqrt(3); // uniform on ±half has this std
        for (var i = 0; i < data.Length; i++)
            data[i] = (float)((rng.NextDouble() * 2 - 1) * half);
        return data;
    }

    private static uint StableHash(string s)
    {
        var h = 2166136261u;
        foreach (var c in s) h = (h ^ c) * 16777619u;
        return h;
    }

    /// <summary>Copies <paramref name="source"/> (a file llama_model_save_to_file wrote) to <paramref name="path"/> with the cabin block added.</summary>
    public static void Stamp(string source, string path, CabinModelStamp stamp)
    {
        using var gguf = GgufWriter.FromFile(source);
        stamp.WriteTo(gguf);
        gguf.WriteWithDataOf(source, path);
    }
}
