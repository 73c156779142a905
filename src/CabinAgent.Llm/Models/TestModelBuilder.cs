using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using CabinAgent.Llm.Native;

namespace CabinAgent.Llm.Models;

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
    /// src/CabinAgent.Llm/Models (1.7 MB instead of 5.9), copied beside the assembly by the build and unpacked into the
    /// cache on first use.
    /// </summary>
    public static string VocabPath => EnsureCached(Path.Combine(CabinCache.Root, "models", "ggml-vocab-qwen2.gguf"), UnpackVocab);

    private static string PackedVocabPath => Path.Combine(AppContext.BaseDirectory, "llama", "vocab", "ggml-vocab-qwen2.gguf.gz");

    private static void UnpackVocab(string output)
    {
        if (!File.Exists(PackedVocabPath))
            throw new LlamaException($"tokenizer vocab not found: {PackedVocabPath} (the build copies it from src/CabinAgent.Llm/Models)");
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

        var meta = NativeApi.gguf_init_empty();
        if (meta == IntPtr.Zero) throw new LlamaException("gguf_init_empty failed");
        using var metaHandle = GgufHandle.FromOwned(meta);
        SetStr(meta, "general.type", "adapter");
        SetStr(meta, "general.architecture", "qwen2");
        SetStr(meta, "general.name", $"cabin-agent test LoRA {LoraVersion} (random weights, rank {rank})");
        SetStr(meta, "adapter.type", "lora");
        SetF32(meta, "adapter.lora.alpha", alpha);

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

        WriteF32Gguf(meta, tensors, output, seed);
    }

    /// <summary>Builds a random-weight model with the given shape into <paramref name="output"/>.</summary>
    public static void Build(string output, TestModelShape shape, QuantizationType quantization, uint seed = 42)
    {
        LlamaLibrary.EnsureInitialized();
        IntPtr meta;
        fixed (byte* vocab = Utf8.NulTerminated(VocabPath))
            meta = NativeApi.gguf_init_from_file(vocab, new NativeApi.gguf_init_params { no_alloc = true });
        if (meta == IntPtr.Zero) throw new LlamaException($"cannot read {VocabPath}");
        using var metaHandle = GgufHandle.FromOwned(meta);

        SetU32(meta, "qwen2.block_count", (uint)shape.Layers);
        SetU32(meta, "qwen2.context_length", (uint)shape.ContextLength);
        SetU32(meta, "qwen2.embedding_length", (uint)shape.EmbeddingLength);
        SetU32(meta, "qwen2.feed_forward_length", (uint)shape.FeedForwardLength);
        SetU32(meta, "qwen2.attention.head_count", (uint)shape.Heads);
        SetU32(meta, "qwen2.attention.head_count_kv", (uint)shape.KvHeads);
        SetF32(meta, "qwen2.rope.freq_base", 1_000_000f);
        SetF32(meta, "qwen2.attention.layer_norm_rms_epsilon", 1e-6f);
        SetU32(meta, "general.file_type", 0); // all F32 until quantised
        SetStr(meta, "general.name", $"cabin-agent test LLM {Version} (random weights, Qwen2 tokenizer)");

        // Tensor layout of llama.cpp's qwen2 architecture (ggml order: ne0 = input width). The output
        // matrix is tied to the embedding, as in Qwen2-0.5B.
        var n = shape.EmbeddingLength;
        var kv = n / shape.Heads * shape.KvHeads;
        var vocabSize = (long)VocabTokenCount(meta);
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
            WriteF32Gguf(meta, tensors, f32, seed);
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

    /// <summary>
    /// Writes <paramref name="meta"/> and the tensors (F32, seeded, see <see cref="WriteTensor"/>) as a GGUF file:
    /// gguf's own writer for the header, then the data appended in the same order.
    /// </summary>
    private static void WriteF32Gguf(IntPtr meta, IReadOnlyList<(string Name, long Ne0, long Ne1)> tensors, string path, uint seed)
    {
        var ggml = NativeApi.ggml_init(new NativeApi.ggml_init_params { mem_size = (nuint)(tensors.Count * 1024 + 4096), no_alloc = true });
        if (ggml == IntPtr.Zero) throw new LlamaException("ggml_init failed");
        try
        {
            foreach (var t in tensors)
            {
                var tensor = t.Ne1 == 1
                    ? NativeApi.ggml_new_tensor_1d(ggml, 0 /* GGML_TYPE_F32 */, t.Ne0)
                    : NativeApi.ggml_new_tensor_2d(ggml, 0, t.Ne0, t.Ne1);
                fixed (byte* name = Utf8.NulTerminated(t.Name)) NativeApi.ggml_set_name(tensor, name);
                NativeApi.gguf_add_tensor(meta, tensor);
            }
            fixed (byte* file = Utf8.NulTerminated(path))
                if (!NativeApi.gguf_write_to_file(meta, file, true))
                    throw new LlamaException($"cannot write {path}");
            var alignment = (long)NativeApi.gguf_get_alignment(meta);
            using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.None, 1 << 20);
            foreach (var t in tensors)
                WriteTensor(stream, t.Name, t.Ne0 * t.Ne1, seed, alignment);
        }
        finally
        {
            NativeApi.ggml_free(ggml);
        }
    }

    // Norm weights are 1 (an RMS norm with random signs would only add noise), biases 0, matrices
    // seeded-uniform in ±0.08. Each tensor is padded to the file's alignment, as GGUF requires.
    private static void WriteTensor(Stream stream, string name, long count, uint seed, long alignment)
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
        var bytes = MemoryMarshal.AsBytes(data.AsSpan());
        stream.Write(bytes);
        var pad = (alignment - bytes.Length % alignment) % alignment;
        for (var i = 0; i < pad; i++) stream.WriteByte(0);
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

    private static void SetU32(IntPtr ctx, string key, uint v)
    {
        fixed (byte* k = Utf8.NulTerminated(key)) NativeApi.gguf_set_val_u32(ctx, k, v);
    }

    private static void SetF32(IntPtr ctx, string key, float v)
    {
        fixed (byte* k = Utf8.NulTerminated(key)) NativeApi.gguf_set_val_f32(ctx, k, v);
    }

    private static void SetStr(IntPtr ctx, string key, string v)
    {
        fixed (byte* k = Utf8.NulTerminated(key))
        fixed (byte* val = Utf8.NulTerminated(v))
            NativeApi.gguf_set_val_str(ctx, k, val);
    }
}

/// <summary>Shape of a generated test model.</summary>
public sealed record TestModelShape(int Layers, int EmbeddingLength, int FeedForwardLength, int Heads, int KvHeads, int ContextLength)
{
    /// <summary>~80 M parameters, most of them the 151,936-token embedding and output matrices; ~50 MB at Q4_K_M.</summary>
    public static readonly TestModelShape Default = new(Layers: 4, EmbeddingLength: 256, FeedForwardLength: 768, Heads: 4, KvHeads: 2, ContextLength: 4096);
}
