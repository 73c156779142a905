using System.Text;

namespace CabinAgent.Llm.Native;

/// <summary>Where and how to load a model.</summary>
public sealed record LlamaModelLoadOptions
{
    /// <summary>Layers to offload to a GPU (0 on the CPU-only box; -1 = all on a Jetson CUDA build).</summary>
    public int GpuLayers { get; init; }

    /// <summary>Load only the tokenizer (for <c>models info</c> on a machine that cannot hold the weights).</summary>
    public bool VocabOnly { get; init; }
}

/// <summary>
/// A loaded GGUF model (owns the native <c>llama_model</c>). Immutable after load and safe to share
/// between contexts; contexts must be disposed before the model.
/// </summary>
public sealed unsafe class LlamaModel : IDisposable
{
    private readonly LlamaModelHandle _handle;

    private LlamaModel(LlamaModelHandle handle, string path)
    {
        _handle = handle;
        Path = path;
        Vocab = new LlamaVocab(this, NativeApi.llama_model_get_vocab(handle.DangerousGetHandle()));
    }

    public string Path { get; }
    public LlamaVocab Vocab { get; }

    internal LlamaModelHandle Handle => _handle;

    internal IntPtr Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
            return _handle.DangerousGetHandle();
        }
    }

    public static LlamaModel Load(string path, LlamaModelLoadOptions? options = null)
    {
        options ??= new LlamaModelLoadOptions();
        if (!File.Exists(path))
            throw new LlamaException($"model file not found: {path}");
        LlamaLibrary.EnsureInitialized();
        var p = NativeApi.llama_model_default_params();
        p.n_gpu_layers = options.GpuLayers;
        p.vocab_only = options.VocabOnly;
        IntPtr model;
        fixed (byte* file = Utf8.NulTerminated(System.IO.Path.GetFullPath(path)))
            model = NativeApi.llama_model_load_from_file(file, p);
        if (model == IntPtr.Zero)
            throw new LlamaException($"llama.cpp could not load '{path}' (not a GGUF model, unsupported architecture or truncated file)");
        return new LlamaModel(LlamaModelHandle.FromOwned(model), path);
    }

    /// <summary>Takes ownership of a model pointer created elsewhere in this layer (test-model builder).</summary>
    internal static LlamaModel FromOwned(IntPtr model, string description) =>
        new(LlamaModelHandle.FromOwned(model), description);

    /// <summary>A metadata value (e.g. <c>general.architecture</c>), or null when the key is absent.</summary>
    public string? Metadata(string key) => Utf8.MetaValue(&NativeApi.llama_model_meta_val_str, Pointer, key);

    public string Architecture => Metadata("general.architecture") ?? "unknown";

    public string Description
    {
        get
        {
            var buf = stackalloc byte[256];
            var n = NativeApi.llama_model_desc(Pointer, buf, 256);
            return n <= 0 ? "" : Encoding.UTF8.GetString(buf, Math.Min(n, 255));
        }
    }

    public ulong ParameterCount => NativeApi.llama_model_n_params(Pointer);

    /// <summary>Bytes of all tensors (the weights' size in memory).</summary>
    public ulong TensorBytes => NativeApi.llama_model_size(Pointer);

    /// <summary>llama_ftype value (quantisation of the bulk of the tensors).</summary>
    public int FileType => NativeApi.llama_model_ftype(Pointer);

    public string FileTypeName => Utf8.FromNative(NativeApi.llama_ftype_name(FileType));
    public int TrainContextLength => NativeApi.llama_model_n_ctx_train(Pointer);
    public int EmbeddingLength => NativeApi.llama_model_n_embd(Pointer);
    public int LayerCount => NativeApi.llama_model_n_layer(Pointer);
    public int HeadCount => NativeApi.llama_model_n_head(Pointer);

    /// <summary>The model's default chat template (Jinja text as stored in the GGUF), or null.</summary>
    public string? ChatTemplate
    {
        get
        {
            var p = NativeApi.llama_model_chat_template(Pointer, null);
            return p is null ? null : Utf8.FromNative(p);
        }
    }

    public void SaveToFile(string path)
    {
        fixed (byte* file = Utf8.NulTerminated(path))
            NativeApi.llama_model_save_to_file(Pointer, file);
        if (!File.Exists(path))
            throw new LlamaException($"llama.cpp did not write {path}");
    }

    public LlamaContext CreateContext(LlamaContextOptions options) => new(this, options);

    public void Dispose() => _handle.Dispose();
}
