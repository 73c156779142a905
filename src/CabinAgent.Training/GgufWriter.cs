using System.Runtime.InteropServices;
using CabinAgent.Llm.Native;
using CabinAgent.Training.Native;

namespace CabinAgent.Training;

/// <summary>
/// GGUF metadata and F32 tensors written through gguf's own writer (the header) with the tensor data appended in the
/// same order, as the format lays it out. Owns its gguf context. Why not llama_model_save_to_file for everything:
/// it writes only the keys llama.cpp knows, so the <c>cabin.*</c> block and the tokenizer flags we set would be lost.
/// </summary>
internal sealed unsafe class GgufWriter : IDisposable
{
    private readonly GgufHandle _handle;

    private GgufWriter(IntPtr ctx)
    {
        _handle = GgufHandle.FromOwned(ctx);
    }

    public IntPtr Context => _handle.DangerousGetHandle();

    public static GgufWriter Empty()
    {
        LlamaLibrary.BindImportsOf(typeof(GgufWriter).Assembly);
        var ctx = NativeApi.gguf_init_empty();
        return ctx == IntPtr.Zero ? throw new LlamaException("gguf_init_empty failed") : new GgufWriter(ctx);
    }

    /// <summary>The metadata (and tensor infos) of an existing file, to add keys to.</summary>
    public static GgufWriter FromFile(string path)
    {
        LlamaLibrary.BindImportsOf(typeof(GgufWriter).Assembly);
        IntPtr ctx;
        fixed (byte* file = Utf8.NulTerminated(path))
            ctx = NativeApi.gguf_init_from_file(file, new NativeApi.gguf_init_params { no_alloc = true });
        return ctx == IntPtr.Zero ? throw new LlamaException($"{path} is not a readable GGUF file") : new GgufWriter(ctx);
    }

    public void Set(string key, string value)
    {
        fixed (byte* k = Utf8.NulTerminated(key))
        fixed (byte* v = Utf8.NulTerminated(value))
            NativeApi.gguf_set_val_str(Context, k, v);
    }

    public void Set(string key, uint value)
    {
        fixed (byte* k = Utf8.NulTerminated(key)) NativeApi.gguf_set_val_u32(Context, k, value);
    }

    public void Set(string key, float value)
    {
        fixed (byte* k = Utf8.NulTerminated(key)) NativeApi.gguf_set_val_f32(Context, k, value);
    }

    public void Set(string key, bool value)
    {
        fixed (byte* k = Utf8.NulTerminated(key)) TrainingApi.gguf_set_val_bool(Context, k, value);
    }

    public void Set(string key, IReadOnlyList<string> values)
    {
        var encoded = values.Select(Utf8.NulTerminated).ToArray();
        var handles = encoded.Select(b => GCHandle.Alloc(b, GCHandleType.Pinned)).ToArray();
        try
        {
            var pointers = handles.Select(h => (IntPtr)h.AddrOfPinnedObject()).ToArray();
            fixed (byte* k = Utf8.NulTerminated(key))
            fixed (IntPtr* p = pointers)
                TrainingApi.gguf_set_arr_str(Context, k, (byte**)p, (nuint)pointers.Length);
        }
        finally
        {
            foreach (var h in handles) h.Free();
        }
    }

    public void Set(string key, float[] values)
    {
        fixed (byte* k = Utf8.NulTerminated(key))
        fixed (float* v = values)
            TrainingApi.gguf_set_arr_data(Context, k, TrainingApi.GgufTypeFloat32, v, (nuint)values.Length);
    }

    public void Set(string key, int[] values)
    {
        fixed (byte* k = Utf8.NulTerminated(key))
        fixed (int* v = values)
            TrainingApi.gguf_set_arr_data(Context, k, TrainingApi.GgufTypeInt32, v, (nuint)values.Length);
    }

    /// <summary>
    /// Writes the metadata and the tensors (F32; <paramref name="data"/> gives each tensor's values) to
    /// <paramref name="path"/>. A tensor of one row is written 1-D.
    /// </summary>
    public void WriteF32(string path, IReadOnlyList<(string Name, long Ne0, long Ne1)> tensors, Func<string, long, float[]> data)
    {
        var ggml = NativeApi.ggml_init(new NativeApi.ggml_init_params { mem_size = (nuint)(tensors.Count * 1024 + 4096), no_alloc = true });
        if (ggml == IntPtr.Zero) throw new LlamaException("ggml_init failed");
        try
        {
            foreach (var t in tensors)
            {
                var tensor = t.Ne1 == 1
                    ? NativeApi.ggml_new_tensor_1d(ggml, TrainingApi.GgmlTypeF32, t.Ne0)
                    : NativeApi.ggml_new_tensor_2d(ggml, TrainingApi.GgmlTypeF32, t.Ne0, t.Ne1);
                fixed (byte* name = Utf8.NulTerminated(t.Name)) NativeApi.ggml_set_name(tensor, name);
                NativeApi.gguf_add_tensor(Context, tensor);
            }
            WriteMetadata(path);
            var alignment = (long)NativeApi.gguf_get_alignment(Context);
            using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.None, 1 << 20);
            foreach (var t in tensors)
            {
                var bytes = MemoryMarshal.AsBytes(data(t.Name, t.Ne0 * t.Ne1).AsSpan());
                stream.Write(bytes);
                var pad = (alignment - bytes.Length % alignment) % alignment;
                for (var i = 0; i < pad; i++) stream.WriteByte(0);
            }
        }
        finally
        {
            NativeApi.ggml_free(ggml);
        }
    }

    /// <summary>
    /// Writes this metadata (read from <paramref name="source"/> with <see cref="FromFile"/>, keys added) followed by
    /// <paramref name="source"/>'s tensor data, unchanged: tensor offsets are relative to the data section.
    /// </summary>
    public void WriteWithDataOf(string source, string path)
    {
        WriteMetadata(path);
        long dataOffset;
        using (var original = FromFile(source))
            dataOffset = (long)TrainingApi.gguf_get_data_offset(original.Context);
        using var input = File.OpenRead(source);
        input.Seek(dataOffset, SeekOrigin.Begin);
        using var output = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.None, 1 << 20);
        input.CopyTo(output);
    }

    private void WriteMetadata(string path)
    {
        fixed (byte* file = Utf8.NulTerminated(path))
            if (!NativeApi.gguf_write_to_file(Context, file, true))
                throw new LlamaException($"cannot write {path}");
    }

    public void Dispose() => _handle.Dispose();
}
