using System.Globalization;

namespace CabinAgent.Llm.Native;

/// <summary>
/// A LoRA adapter (GGUF, <c>general.type = adapter</c>) loaded for one model with
/// <c>llama_adapter_lora_init</c>. It does nothing until a context applies it
/// (<see cref="LlamaContext.SetLoraAdapters"/>). It keeps its model alive; disposing it while a
/// context still applies it is safe: the native adapter is freed when the context lets go.
/// </summary>
public sealed unsafe class LlamaLoraAdapter : IDisposable
{
    private readonly LlamaLoraAdapterHandle _handle;

    private LlamaLoraAdapter(LlamaLoraAdapterHandle handle, LlamaModel model, string path)
    {
        _handle = handle;
        Model = model;
        Path = path;
    }

    public LlamaModel Model { get; }

    public string Path { get; }

    internal IntPtr Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
            return _handle.DangerousGetHandle();
        }
    }

    /// <summary>
    /// Loads <paramref name="path"/> for <paramref name="model"/>. Throws <see cref="LlamaException"/>
    /// with llama.cpp's reason when the file is missing, is not a LoRA adapter, or was made for another
    /// architecture or shape of model.
    /// </summary>
    public static LlamaLoraAdapter Load(LlamaModel model, string path)
    {
        if (!File.Exists(path))
            throw new LlamaException($"LoRA adapter file not found: {path}");
        var modelPointer = model.Pointer;
        LlamaLibrary.TakeLastError();
        IntPtr adapter;
        fixed (byte* file = Utf8.NulTerminated(System.IO.Path.GetFullPath(path)))
            adapter = NativeApi.llama_adapter_lora_init(modelPointer, file);
        if (adapter == IntPtr.Zero)
        {
            var reason = LlamaLibrary.TakeLastError() is { } line ? Reason(line) : "see the llama.cpp log";
            throw new LlamaException($"llama.cpp refused the LoRA adapter '{path}' for model '{model.Path}': {reason}");
        }
        return new LlamaLoraAdapter(LlamaLoraAdapterHandle.FromOwned(adapter, model.Handle), model, path);
    }

    /// <summary>A metadata value of the adapter file (e.g. <c>adapter.lora.alpha</c>), or null when absent.</summary>
    public string? Metadata(string key) => Utf8.MetaValue(&NativeApi.llama_adapter_meta_val_str, Pointer, key);

    /// <summary>The adapter's alpha (<c>adapter.lora.alpha</c>); llama.cpp scales its update by scale × alpha / rank (0 = no alpha: by scale).</summary>
    public float Alpha =>
        float.TryParse(Metadata("adapter.lora.alpha"), NumberStyles.Float, CultureInfo.InvariantCulture, out var alpha) ? alpha : 0f;

    public string? Name => Metadata("general.name");

    internal void AddRef()
    {
        var added = false;
        _handle.DangerousAddRef(ref added);
    }

    internal void Release() => _handle.DangerousRelease();

    public void Dispose() => _handle.Dispose();

    // "llama_adapter_lora_init_from_file_ptr: failed to apply lora adapter: model arch and LoRA arch mismatch" → the part after the last ": ".
    private static string Reason(string line)
    {
        var marker = line.IndexOf("failed to apply lora adapter: ", StringComparison.Ordinal);
        return marker >= 0 ? line[(marker + "failed to apply lora adapter: ".Length)..] : line;
    }
}
