using System.Reflection;
using System.Runtime.InteropServices;
using CabinAgent.Llm.Native;
using LLama.Native;
using NativeApi = CabinAgent.Llm.Native.NativeApi;

namespace CabinAgent.Llm.Tests;

/// <summary>
/// Our mirrored structs must match llama.h of the commit LLamaSharp 0.30.0 was built from, byte for byte, because
/// they are passed to the very library LLamaSharp loaded. LLamaSharp declares the same structs for that commit, so
/// each of ours is held to its declaration: same size, and every field at the offset of LLamaSharp's field of that
/// name. A header change in a new LLamaSharp release breaks these before it corrupts memory.
/// </summary>
public sealed class NativeLayoutTests
{
    public static TheoryData<Type, Type> Pairs => new()
    {
        { typeof(NativeApi.llama_model_params), typeof(LLamaModelParams) },
        { typeof(NativeApi.llama_context_params), typeof(LLamaContextParams) },
        { typeof(NativeApi.llama_model_quantize_params), typeof(LLamaModelQuantizeParams) },
        { typeof(NativeApi.llama_batch), typeof(LLamaNativeBatch) },
        { typeof(NativeApi.llama_token_data), typeof(LLamaTokenData) },
        { typeof(NativeApi.llama_token_data_array), typeof(LLamaTokenDataArrayNative) },
        { typeof(NativeApi.llama_sampler_chain_params), typeof(LLamaSamplerChainParams) },
    };

    // Where LLamaSharp names a field differently (its bools are private sbyte fields behind properties).
    private static readonly Dictionary<string, string> TheirName = new()
    {
        ["ctx_type"] = "context_type",
        ["pooling_type"] = "llama_pooling_type",
        ["flash_attn_type"] = "llama_flash_attn_type",
        ["defrag_thold"] = "defrag_threshold",
        ["abort_callback_data"] = "abort_callback_user_data",
        ["tt_overrides"] = "tensor_types",
        ["token"] = "tokens",
        ["id"] = "ID",
        ["logit"] = "Logit",
        ["p"] = "Probability",
    };

    [Theory]
    [MemberData(nameof(Pairs))]
    public void Struct_matches_LLamaSharps_declaration(Type ours, Type theirs)
    {
        // LLamaSharp's structs are blittable (bools as sbyte), so their marshalled layout is the native one. Ours
        // are passed with runtime marshalling off, so the runtime's own sequential layout is what crosses: C rules.
        var (ourOffsets, ourSize) = SequentialLayout(ours);
        Assert.Equal(ManagedSize(ours), ourSize);
        Assert.Equal(Marshal.SizeOf(theirs), ourSize);
        var theirFields = theirs.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            .ToDictionary(f => f.Name.TrimStart('_'), f => (int)Marshal.OffsetOf(theirs, f.Name));
        Assert.Equal(theirFields.Count, ourOffsets.Count);
        foreach (var (field, offset) in ourOffsets)
        {
            var name = TheirName.GetValueOrDefault(field, field);
            Assert.True(theirFields.TryGetValue(name, out var theirOffset), $"{ours.Name}.{field}: LLamaSharp has no field '{name}'");
            Assert.Equal((theirOffset, field), (offset, field));
        }
    }

    // Field offsets and size of a sequential struct of primitives and pointers, by C's rule (each field at the next
    // multiple of its size, the whole a multiple of the largest); the size is checked against the runtime's.
    private static (List<(string Field, int Offset)> Offsets, int Size) SequentialLayout(Type type)
    {
        var offsets = new List<(string, int)>();
        int offset = 0, align = 1;
        foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public).OrderBy(f => f.MetadataToken))
        {
            var size = FieldSize(field.FieldType);
            offset = (offset + size - 1) / size * size;
            offsets.Add((field.Name, offset));
            offset += size;
            align = Math.Max(align, size);
        }
        return (offsets, (offset + align - 1) / align * align);
    }

    private static int FieldSize(Type t) =>
        t.IsPointer || t.IsFunctionPointer || t == typeof(IntPtr) || t == typeof(UIntPtr) ? IntPtr.Size
        : t == typeof(bool) ? 1
        : t.IsPrimitive ? Marshal.SizeOf(t)
        : throw new NotSupportedException($"field type {t}");

    private static int ManagedSize(Type t) =>
        (int)typeof(System.Runtime.CompilerServices.Unsafe).GetMethod(nameof(System.Runtime.CompilerServices.Unsafe.SizeOf))!
            .MakeGenericMethod(t).Invoke(null, null)!;

    [Fact]
    public void Structs_LLamaSharp_does_not_declare_have_the_header_sizes()
    {
        Assert.Equal(16, Marshal.SizeOf<NativeApi.llama_chat_message>());
        Assert.Equal(16, Marshal.SizeOf<NativeApi.gguf_init_params>());
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
        Assert.Equal(-1, c.flash_attn_type);
        Assert.True(c.offload_kqv);
        Assert.False(c.kv_unified);
        Assert.Equal(LLamaContextParams.Default().n_ctx, c.n_ctx);
        var m = NativeApi.llama_model_default_params();
        Assert.False(m.vocab_only);
        Assert.Equal(IntPtr.Zero, m.kv_overrides);
        Assert.Equal(LLamaModelParams.Default().n_gpu_layers, m.n_gpu_layers);
    }
}
