using CabinAgent.Llm.Native;

namespace CabinAgent.Training;

/// <summary>
/// Builds the project's own test model: a tiny Qwen2-architecture network with seeded random
/// weights and the REAL Qwen2 tokenizer and chat template (taken from llama.cpp's
/// <c>models/ggml-vocab-qwen2.gguf</c>), quantised to a 4-bit type. Its outputs are meaningless, but
/// it exercises exactly the code paths of a real model: loading, tokenizer, chat template, KV cache,
/// decode speed of a 4-bit model, and — because its choices are random — the constraint automaton
/// on every kind of path. No pretrained weights are involved.
/// </summary>
public static unsafe class TestModelBuilder
{
    /// <summary>Bump when the recipe changes: the cached file name carries it.</summary>
    public const string Version = "v1";

    public static string DefaultPath => Path.Combine(CabinCache.Root, "models", $"test-llm-{Version}.gguf");

    /// <summary>
    /// The real Qwen2 tokenizer (a vocab-only GGUF from llama.cpp's models/), committed gzipped as data in
    /// src/CabinAgent.Training/TestModel (1.7 MB instead of 5.9), copied beside the assembly by the build and unpacked into the
    /// cache on first use.
    /// </summary>
    public static string VocabPath => EnsureCached(Path.Combine(CabinCache.Root, "models", "ggml-vocab-qwen2.gguf"), UnpackVocab);

    private static string PackedVocabPath => Path.Combine(AppContext.BaseDirectory, "llama", "vocab", "ggml-vocab-qwen2.gguf.gz");

    private static void UnpackVocab(string output)
    {
        if (!File.Exists(PackedVocabPath))
            throw new LlamaException($"tokenizer vocab not found: {PackedVocabPath} (the build copies it from src/CabinAgent.Training/TestModel)");
        using var packed = new System.IO.Compression.GZipStream(File.OpenRead(PackedVocabPath), System.IO.Compression.CompressionMode.Decompress);
        using var unpacked = File.Create(output);
        packed.CopyTo(unpacked);
    }

    /// <summary>Bump when the adapter recipe changes; the adapter's file name also carries the model's version.</summary>
    public const string LoraVersion = "v1";

    public static string DefaultLoraPath => Path.Combine(CabinCache.Root, "models", $"test-lora-{LoraVersion}-for-test-llm-{Version}.gguf");

    private static readonly Lock BuildLock = new();

    /// <summary>Returns the cached test model, building it first when missing (safe across threads and processes).</summary>
    public static string EnsureDefault() =>
        EnsureCached(DefaultPath, tmp => Build(tmp, TestModelShape.Default, QuantizationType.Q4_K_M));

    /// <summary>Returns the cached random LoRA adapter for <see cref="EnsureDefault"/>'s model, building both when missing.</summary>
    public static string EnsureDefaultLora()
    {
        var model = EnsureDefault();
        return EnsureCached(DefaultLoraPath, tmp => BuildLora(tmp, model));
    }

    private static string EnsureCached(string path, Action<string> build)
    {
        if (File.Exists(path)) return path;
        lock (BuildLock)
        {
            if (File.Exists(path)) return path;
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            // Build under a unique name and rename: a concurrent process either sees no file or a whole one.
            var tmp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
            try
            {
                build(tmp);
                File.Move(tmp, path, overwrite: true);
            }
            finally
            {
                if (File.Exists(tmp)) File.Delete(tmp);
            }
        }
        return path;
    }

    /// <summary>
    /// Builds a LoRA adapter GGUF with seeded random weights for a generated (Qwen2) test model: rank
    /// <paramref name="rank"/> pairs <c>lora_a</c> [in, rank] and <c>lora_b</c> [rank, out] for every
    /// attention and feed-forward matrix, shaped from the base model's metadata, F32. Random, so it
    /// changes the model's outputs without teaching it anything: it exercises llama.cpp's adapter
    /// loading and its use in every decode, not a fine-tune.
    /// </summary>
    public static void BuildLora(string output, string baseModel, int rank = 8, float alpha = 16, uint seed = 7) =>
        BuildLora(output, ReadShape(baseModel), rank, alpha, seed);

    /// <summary>The shape of a generated (Qwen2) test model, from its metadata.</summary>
    private static TestModelShape ReadShape(string baseModel)
    {
        LlamaLibrary.EnsureInitialized();
        IntPtr baseMeta;
        fixed (byte* file = Utf8.NulTerminated(baseModel))
            baseMeta = NativeApi.gguf_init_from_file(file, new NativeApi.gguf_init_params { no_alloc = true });
        if (baseMeta == IntPtr.Zero) throw new LlamaException($"cannot read the base model {baseModel}");
        int layers, n, ff, heads, kvHeads;
        using (GgufHandle.FromOwned(baseMeta))
        {
            var arch = GetStr(baseMeta, "general.architecture");
            if (arch != "qwen2")
                throw new LlamaException($"test adapters are made for the generated qwen2 test model; {baseModel} is '{arch}'");
            layers = (int)GetU32(baseMeta, "qwen2.block_count");
            n = (int)GetU32(baseMeta, "qwen2.embedding_length");
            ff = (int)GetU32(baseMeta, "qwen2.feed_forward_length");
            heads = (int)GetU32(baseMeta, "qwen2.attention.head_count");
            kvHeads = (int)GetU32(baseMeta, "qwen2.attention.head_count_kv");
        }
        return new TestModelShape(layers, n, ff, heads, kvHeads, ContextLength: 0);
    }

    /// <summary>A random adapter for a model of <paramref name="shape"/> (tests use it to make adapters that do not fit).</summary>
    internal static void BuildLora(string output, TestModelShape shape, int rank = 8, float alpha = 16, uint seed = 7)
    {
        LlamaLibrary.EnsureInitialized();
        if (rank < 1) throw new ArgumentOutOfRangeException(nameof(rank), "rank must be at least 1");
        var (layers, n, ff) = (shape.Layers, shape.EmbeddingLength, shape.FeedForwardLength);
        var kv = n / shape.Heads * shape.KvHeads;

        using var meta = GgufWriter.Empty();
        meta.Set("general.type", "adapter");
        meta.Set("general.architecture", "qwen2");
        meta.Set("general.name", $"cabin-agent test LoRA {LoraVersion} (random weights, rank {rank})");
        meta.Set("adapter.type", "lora");
        meta.Set("adapter.lora.alpha", alpha);

        // ggml order: ne0 = input width. lora_a maps the input down to the rank, lora_b back up to the output.
        var tensors = new List<(string Name, long Ne0, long Ne1)>();
        for (var i = 0; i < layers; i++)
        {
            foreach (var (target, input, outputWidth) in new (string, long, long)[]
                     {
                         ("attn_q", n, n), ("attn_k", n, kv), ("attn_v", n, kv), ("attn_output", n, n),
                         ("ffn_gate", n, ff), ("ffn_up", n, ff), ("ffn_down", ff, n),
                     })
            {
                tensors.Add(($"blk.{i}.{target}.weight.lora_a", input, rank));
                tensors.Add(($"blk.{i}.{target}.weight.lora_b", rank, outputWidth));
            }
        }

        meta.WriteF32(output, tensors, (name, count) => TensorData(name, count, seed));
    }

    /// <summary>Builds a random-weight model with the given shape into <paramref name="output"/>.</summary>
    public static void Build(string output, TestModelShape shape, QuantizationType quantization, uint seed = 42)
    {
        LlamaLibrary.EnsureInitialized();
        using var meta = GgufWriter.FromFile(VocabPath);
        meta.Set("qwen2.block_count", (uint)shape.Layers);
        meta.Set("qwen2.context_length", (uint)shape.ContextLength);
        meta.Set("qwen2.embedding_length", (uint)shape.EmbeddingLength);
        meta.Set("qwen2.feed_forward_length", (uint)shape.FeedForwardLength);
        meta.Set("qwen2.attention.head_count", (uint)shape.Heads);
        meta.Set("qwen2.attention.head_count_kv", (uint)shape.KvHeads);
        meta.Set("qwen2.rope.freq_base", 1_000_000f);
        meta.Set("qwen2.attention.layer_norm_rms_epsilon", 1e-6f);
        meta.Set("general.file_type", 0u); // all F32 until quantised
        meta.Set("general.name", $"cabin-agent test LLM {Version} (random weights, Qwen2 tokenizer)");

        // Tensor layout of llama.cpp's qwen2 architecture (ggml order: ne0 = input width). The output
        // matrix is tied to the embedding, as in Qwen2-0.5B.
        var n = shape.EmbeddingLength;
        var kv = n / shape.Heads * shape.KvHeads;
        var vocabSize = (long)VocabTokenCount(meta.Context);
        var tensors = new List<(string Name, long Ne0, long Ne1)>
        {
            ("token_embd.weight", n, vocabSize),
            ("output_norm.weight", n, 1),
        };
        for (var i = 0; i < shape.Layers; i++)
        {
            tensors.Add(($"blk.{i}.attn_norm.weight", n, 1));
            tensors.Add(($"blk.{i}.attn_q.weight", n, n));
            tensors.Add(($"blk.{i}.attn_q.bias", n, 1));
            tensors.Add(($"blk.{i}.attn_k.weight", n, kv));
            tensors.Add(($"blk.{i}.attn_k.bias", kv, 1));
            tensors.Add(($"blk.{i}.attn_v.weight", n, kv));
            tensors.Add(($"blk.{i}.attn_v.bias", kv, 1));
            tensors.Add(($"blk.{i}.attn_output.weight", n, n));
            tensors.Add(($"blk.{i}.ffn_norm.weight", n, 1));
            tensors.Add(($"blk.{i}.ffn_gate.weight", n, shape.FeedForwardLength));
            tensors.Add(($"blk.{i}.ffn_up.weight", n, shape.FeedForwardLength));
            tensors.Add(($"blk.{i}.ffn_down.weight", shape.FeedForwardLength, n));
        }

        var f32 = $"{output}.f32.tmp";
        try
        {
            meta.WriteF32(f32, tensors, (name, count) => TensorData(name, count, seed));
            using (var check = LlamaModel.Load(f32))
            {
                if (check.LayerCount != shape.Layers) throw new LlamaException("generated model does not load back as built");
            }
            LlamaQuantizer.Quantize(f32, output, quantization);
        }
        finally
        {
            if (File.Exists(f32)) File.Delete(f32);
        }
    }

    // Norm weights are 1 (an RMS norm with random signs would only add noise), biases 0, matrices
    // seeded-uniform in ±0.08.
    private static float[] TensorData(string name, long count, uint seed)
    {
        var data = new float[count];
        if (name.Contains("norm", StringComparison.Ordinal))
            data.AsSpan().Fill(1f);
        else if (!name.EndsWith(".bias", StringComparison.Ordinal))
        {
            var rng = new Random((int)(seed ^ StableHash(name)));
            for (var i = 0; i < data.Length; i++)
                data[i] = (float)(rng.NextDouble() * 0.16 - 0.08);
        }
        return data;
    }

    private static uint VocabTokenCount(IntPtr meta)
    {
        long id;
        fixed (byte* k = Utf8.NulTerminated("tokenizer.ggml.tokens")) id = NativeApi.gguf_find_key(meta, k);
        if (id < 0) throw new LlamaException("vocab file has no tokenizer.ggml.tokens");
        return (uint)NativeApi.gguf_get_arr_n(meta, id);
    }

    private static uint StableHash(string s)
    {
        var h = 2166136261u;
        foreach (var c in s) h = (h ^ c) * 16777619u;
        return h;
    }

    private const int GgufTypeUInt32 = 4, GgufTypeString = 8; // enum gguf_type

    private static uint GetU32(IntPtr ctx, string key)
    {
        long id;
        fixed (byte* k = Utf8.NulTerminated(key)) id = NativeApi.gguf_find_key(ctx, k);
        // gguf_get_val_* abort the process on a type mismatch: check first.
        if (id < 0 || NativeApi.gguf_get_kv_type(ctx, id) != GgufTypeUInt32) throw new LlamaException($"model has no unsigned 32-bit {key}");
        return NativeApi.gguf_get_val_u32(ctx, id);
    }

    private static string GetStr(IntPtr ctx, string key)
    {
        long id;
        fixed (byte* k = Utf8.NulTerminated(key)) id = NativeApi.gguf_find_key(ctx, k);
        return id < 0 || NativeApi.gguf_get_kv_type(ctx, id) != GgufTypeString ? "" : Utf8.FromNative(NativeApi.gguf_get_val_str(ctx, id));
    }
}

/// <summary>Shape of a generated test model.</summary>
public sealed record TestModelShape(int Layers, int EmbeddingLength, int FeedForwardLength, int Heads, int KvHeads, int ContextLength)
{
    /// <summary>~80 M parameters, most of them the 151,936-token embedding and output matrices; ~50 MB at Q4_K_M.</summary>
    public static readonly TestModelShape Default = new(Layers: 4, EmbeddingLength: 256, FeedForwardLength: 768, Heads: 4, KvHeads: 2, ContextLength: 4096);
}
