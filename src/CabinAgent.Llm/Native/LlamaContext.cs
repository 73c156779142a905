using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace CabinAgent.Llm.Native;

public sealed record LlamaContextOptions
{
    /// <summary>Context length in tokens (system prompt + utterance + output).</summary>
    public int ContextLength { get; init; } = 4096;

    /// <summary>Logical batch size: the most tokens one decode call takes.</summary>
    public int BatchSize { get; init; } = 512;

    /// <summary>CPU threads for generation and prompt processing (0 = half the cores, at least 1: llama.cpp threads spin, and oversubscribing a shared box makes decoding 20x slower).</summary>
    public int Threads { get; init; }

    /// <summary>Flash attention: null leaves llama.cpp's choice (auto); the trainer turns it off (it has no backward pass).</summary>
    public bool? FlashAttention { get; init; }
}

/// <summary>What a decode call ended with.</summary>
public enum DecodeStatus { Ok, Aborted }

/// <summary>
/// An inference context over one sequence (owns the native <c>llama_context</c>, its KV cache and a
/// reusable batch). Not thread-safe: one caller at a time. Abort: <see cref="RequestAbort"/> may be
/// called from any thread; llama.cpp polls the flag through its abort callback while computing.
/// </summary>
public sealed unsafe class LlamaContext : IDisposable
{
    private readonly LlamaModel _model;
    private readonly LlamaContextHandle _handle;
    private readonly LlamaBatch _batch;
    private readonly int* _abortFlag; // native memory, read by AbortCallback on llama.cpp's threads
    // Adapters the context computes with: each holds a reference on its handle so it cannot be freed in use.
    private LlamaLoraAdapter[] _adapters = [];
    private bool _disposed;

    internal LlamaContext(LlamaModel model, LlamaContextOptions options)
    {
        _model = model;
        var threads = options.Threads > 0 ? options.Threads : Math.Max(1, Environment.ProcessorCount / 2);
        _abortFlag = (int*)NativeMemory.AllocZeroed(sizeof(int));
        var p = NativeApi.llama_context_default_params();
        p.n_ctx = (uint)options.ContextLength;
        p.n_batch = (uint)options.BatchSize;
        p.n_ubatch = (uint)Math.Min(options.BatchSize, 512);
        p.n_seq_max = 1;
        p.n_threads = threads;
        p.n_threads_batch = threads;
        p.no_perf = true;
        if (options.FlashAttention is { } flash) p.flash_attn_type = flash ? 1 : 0; // enum llama_flash_attn_type
        p.abort_callback = &AbortCallback;
        p.abort_callback_data = _abortFlag;
        var ctx = NativeApi.llama_init_from_model(model.Pointer, p);
        if (ctx == IntPtr.Zero)
        {
            NativeMemory.Free(_abortFlag);
            throw new LlamaException($"llama.cpp could not create a context of {options.ContextLength} tokens");
        }
        _handle = LlamaContextHandle.FromOwned(ctx);
        ContextLength = (int)NativeApi.llama_n_ctx(ctx);
        BatchSize = (int)NativeApi.llama_n_batch(ctx);
        _batch = new LlamaBatch(BatchSize);
        VocabSize = model.Vocab.TokenCount;
    }

    public int ContextLength { get; }
    public int BatchSize { get; }
    public int VocabSize { get; }
    public LlamaModel Model => _model;

    /// <summary>The raw context pointer, for the cabin-model trainer's optimizer calls (CabinAgent.Training, via
    /// InternalsVisibleTo); the bench's direct loop is <see cref="DecodeGreedyDirect"/>.</summary>
    internal IntPtr DangerousPointer => Ptr;

    private IntPtr Ptr
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _handle.DangerousGetHandle();
        }
    }

    /// <summary>
    /// Greedy decoding written as a C program would, straight on the C API (<c>llama_get_logits_ith</c>, a scalar
    /// argmax, <c>llama_batch_get_one</c>, <c>llama_decode</c>), from the logits the last decode left: the reference
    /// <c>bench llm</c> holds the binding's own loop (<c>ConstrainedDecoder.GenerateUnconstrained</c>) against.
    /// Continues after the sequence's last position. Returns the tokens decoded (fewer when a decode fails).
    /// </summary>
    public int DecodeGreedyDirect(int count)
    {
        var ctx = Ptr;
        var vocab = VocabSize;
        for (var i = 0; i < count; i++)
        {
            var logits = NativeApi.llama_get_logits_ith(ctx, -1);
            var best = 0;
            for (var t = 1; t < vocab; t++)
                if (logits[t] > logits[best]) best = t;
            var token = best;
            var batch = NativeApi.llama_batch_get_one(&token, 1);
            // llama_batch_get_one leaves positions to llama.cpp, which continues after the sequence's last one.
            if (NativeApi.llama_decode(ctx, batch) != 0) return i;
        }
        return count;
    }

    /// <summary>
    /// Evaluates <paramref name="tokens"/> at positions <paramref name="startPos"/>.. of sequence 0,
    /// in chunks of <see cref="BatchSize"/>. Logits are kept for the last token only (read them with
    /// <see cref="LastLogits"/>). Returns <see cref="DecodeStatus.Aborted"/> when the abort flag was
    /// raised; throws <see cref="LlamaException"/> on any other failure.
    /// </summary>
    public DecodeStatus Decode(ReadOnlySpan<int> tokens, int startPos)
    {
        if (tokens.IsEmpty) throw new ArgumentException("nothing to decode", nameof(tokens));
        if (startPos + tokens.Length > ContextLength)
            throw new LlamaException($"context full: {startPos} + {tokens.Length} tokens > {ContextLength}");
        var ctx = Ptr;
        for (var offset = 0; offset < tokens.Length; offset += BatchSize)
        {
            if (Volatile.Read(ref *_abortFlag) != 0) return DecodeStatus.Aborted;
            var chunk = tokens.Slice(offset, Math.Min(BatchSize, tokens.Length - offset));
            var isLast = offset + chunk.Length == tokens.Length;
            _batch.Fill(chunk, startPos + offset, isLast);
            var rc = NativeApi.llama_decode(ctx, _batch.Native);
            if (rc == 2) return DecodeStatus.Aborted;
            if (rc != 0)
                throw new LlamaException(rc == 1
                    ? "llama_decode: no KV cache slot for the batch (context too small)"
                    : $"llama_decode failed with code {rc}");
        }
        return DecodeStatus.Ok;
    }

    /// <summary>Logits of the last decoded token; valid until the next <see cref="Decode"/>.</summary>
    public ReadOnlySpan<float> LastLogits
    {
        get
        {
            var p = NativeApi.llama_get_logits_ith(Ptr, -1);
            if (p is null) throw new LlamaException("no logits available (nothing decoded yet?)");
            return new ReadOnlySpan<float>(p, VocabSize);
        }
    }

    /// <summary>Drops positions <paramref name="fromPos"/>.. of the sequence from the KV cache (keeps the prefix before it).</summary>
    public void TruncateSequence(int fromPos)
    {
        var mem = NativeApi.llama_get_memory(Ptr);
        if (!NativeApi.llama_memory_seq_rm(mem, 0, fromPos, -1))
            throw new LlamaException($"llama_memory_seq_rm refused to remove positions from {fromPos}");
    }

    /// <summary>Highest position held in the KV cache for the sequence, -1 when empty.</summary>
    public int LastPosition => NativeApi.llama_memory_seq_pos_max(NativeApi.llama_get_memory(Ptr), 0);

    public void ClearMemory() => NativeApi.llama_memory_clear(NativeApi.llama_get_memory(Ptr), true);

    /// <summary>The LoRA adapters applied to every decode, with their scales (empty: the base model).</summary>
    public IReadOnlyList<LlamaLoraAdapter> LoraAdapters => _adapters;

    /// <summary>
    /// Replaces the LoRA adapters applied to every following decode (an empty list detaches them).
    /// What is already in the KV cache was computed without the change: evaluate the prompt again.
    /// The adapters must belong to this context's model.
    /// </summary>
    public void SetLoraAdapters(IReadOnlyList<(LlamaLoraAdapter Adapter, float Scale)> adapters)
    {
        var ctx = Ptr;
        foreach (var (adapter, scale) in adapters)
        {
            if (!ReferenceEquals(adapter.Model, _model))
                throw new ArgumentException($"LoRA adapter '{adapter.Path}' was loaded for another model", nameof(adapters));
            if (!float.IsFinite(scale))
                throw new ArgumentOutOfRangeException(nameof(adapters), $"LoRA scale {scale} for '{adapter.Path}' is not a finite number");
        }
        var added = new List<LlamaLoraAdapter>(adapters.Count);
        try
        {
            foreach (var (adapter, _) in adapters)
            {
                adapter.AddRef();
                added.Add(adapter);
            }
            var pointers = stackalloc IntPtr[Math.Max(1, adapters.Count)];
            var scales = stackalloc float[Math.Max(1, adapters.Count)];
            for (var i = 0; i < adapters.Count; i++)
            {
                pointers[i] = adapters[i].Adapter.Pointer;
                scales[i] = adapters[i].Scale;
            }
            NativeApi.llama_set_adapters_lora(ctx, adapters.Count == 0 ? null : pointers, (nuint)adapters.Count,
                adapters.Count == 0 ? null : scales);
        }
        catch
        {
            foreach (var adapter in added) adapter.Release();
            throw;
        }
        foreach (var previous in _adapters) previous.Release();
        _adapters = added.ToArray();
    }

    /// <summary>Makes the running (or next) decode stop as soon as llama.cpp polls the flag. Thread-safe.</summary>
    public void RequestAbort()
    {
        if (!_disposed) Volatile.Write(ref *_abortFlag, 1);
    }

    public void ResetAbort() => Volatile.Write(ref *_abortFlag, 0);

    public bool AbortRequested => Volatile.Read(ref *_abortFlag) != 0;

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static bool AbortCallback(void* data) => Volatile.Read(ref *(int*)data) != 0;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _handle.Dispose();
        foreach (var adapter in _adapters) adapter.Release();
        _adapters = [];
        _batch.Dispose();
        NativeMemory.Free(_abortFlag);
    }
}

/// <summary>A reusable <c>llama_batch</c> for one sequence (owns the arrays llama_batch_init allocates).</summary>
internal sealed unsafe class LlamaBatch : IDisposable
{
    private NativeApi.llama_batch _batch;
    private readonly int _capacity;
    private bool _disposed;

    public LlamaBatch(int capacity)
    {
        _capacity = capacity;
        _batch = NativeApi.llama_batch_init(capacity, 0, 1);
        if (_batch.token is null) throw new LlamaException("llama_batch_init failed");
    }

    public NativeApi.llama_batch Native => _batch;

    public void Fill(ReadOnlySpan<int> tokens, int startPos, bool logitsForLast)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (tokens.Length > _capacity) throw new ArgumentException("batch too large", nameof(tokens));
        for (var i = 0; i < tokens.Length; i++)
        {
            _batch.token[i] = tokens[i];
            _batch.pos[i] = startPos + i;
            _batch.n_seq_id[i] = 1;
            _batch.seq_id[i][0] = 0;
            _batch.logits[i] = 0;
        }
        if (logitsForLast) _batch.logits[tokens.Length - 1] = 1;
        _batch.n_tokens = tokens.Length;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        NativeApi.llama_batch_free(_batch);
    }
}
