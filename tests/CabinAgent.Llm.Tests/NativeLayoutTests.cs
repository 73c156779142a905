using System.Runtime.CompilerServices;
using CabinAgent.Llm.Native;

namespace CabinAgent.Llm.Tests;

/// <summary>
/// The mirrored structs must match llama.h of the pinned release byte for byte. Expected values are
/// sizeof/offsetof printed by a C program compiled against the release's headers (x86-64 and arm64
/// LP64 agree); a header change in a new release breaks these before it corrupts memory.
/// </summary>
public sealed unsafe class NativeLayoutTests
{
    [Fact]
    public void Struct_sizes_match_the_header()
    {
        Assert.Equal(80, Unsafe.SizeOf<NativeApi.llama_model_params>());
        Assert.Equal(160, Unsafe.SizeOf<NativeApi.llama_context_params>());
        Assert.Equal(56, Unsafe.SizeOf<NativeApi.llama_batch>());
        Assert.Equal(16, Unsafe.SizeOf<NativeApi.llama_chat_message>());
        Assert.Equal(64, Unsafe.SizeOf<NativeApi.llama_model_quantize_params>());
        Assert.Equal(32, Unsafe.SizeOf<NativeApi.llama_token_data_array>());
        Assert.Equal(16, Unsafe.SizeOf<NativeApi.gguf_init_params>());
    }

    [Fact]
    public void Field_offsets_match_the_header()
    {
        var m = default(NativeApi.llama_model_params);
        var mb = (byte*)&m;
        Assert.Equal(16, (byte*)&m.n_gpu_layers - mb);
        Assert.Equal(40, (byte*)&m.tensor_split - mb);
        Assert.Equal(64, (byte*)&m.kv_overrides - mb);
        Assert.Equal(72, (byte*)&m.vocab_only - mb);
        Assert.Equal(77, (byte*)&m.load_mtp - mb);

        var c = default(NativeApi.llama_context_params);
        var cb = (byte*)&c;
        Assert.Equal(28, (byte*)&c.n_threads - cb);
        Assert.Equal(36, (byte*)&c.ctx_type - cb);
        Assert.Equal(56, (byte*)&c.rope_freq_base - cb);
        Assert.Equal(88, (byte*)&c.cb_eval - cb);
        Assert.Equal(104, (byte*)&c.type_k - cb);
        Assert.Equal(112, (byte*)&c.abort_callback - cb);
        Assert.Equal(128, (byte*)&c.embeddings - cb);
        Assert.Equal(133, (byte*)&c.kv_unified - cb);
        Assert.Equal(136, (byte*)&c.samplers - cb);
        Assert.Equal(152, (byte*)&c.ctx_other - cb);

        var q = default(NativeApi.llama_model_quantize_params);
        var qb = (byte*)&q;
        Assert.Equal(4, (byte*)&q.ftype - qb);
        Assert.Equal(16, (byte*)&q.allow_requantize - qb);
        Assert.Equal(21, (byte*)&q.dry_run - qb);
        Assert.Equal(24, (byte*)&q.imatrix - qb);
        Assert.Equal(56, (byte*)&q.max_buf_size - qb);
    }

    [Fact]
    public void Default_params_from_the_library_are_sane()
    {
        LlamaLibrary.EnsureInitialized();
        var c = NativeApi.llama_context_default_params();
        // Values documented in llama.cpp's defaults; garbage here would mean a layout mismatch.
        Assert.Equal(512u, c.n_ctx);
        Assert.Equal(2048u, c.n_batch);
        Assert.Equal(1u, c.n_seq_max);
        Assert.Equal(1u, c.n_outputs_max_per_seq);
        Assert.Equal(-1, c.flash_attn_type);
        Assert.True(c.offload_kqv);
        Assert.False(c.kv_unified);
        var m = NativeApi.llama_model_default_params();
        Assert.False(m.vocab_only);
        Assert.Equal(IntPtr.Zero, m.kv_overrides);
    }
}
