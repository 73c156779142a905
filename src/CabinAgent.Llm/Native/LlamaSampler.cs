using System.Runtime.InteropServices;

namespace CabinAgent.Llm.Native;

/// <summary>
/// A llama.cpp sampler chain (top-k → top-p → temperature → seeded draw) applied to a candidate list
/// the caller has already restricted (the grammar's allowed tokens). Owns the native chain.
/// </summary>
public sealed unsafe class LlamaSampler : IDisposable
{
    private readonly LlamaSamplerHandle _handle;
    private NativeApi.llama_token_data[] _buffer = new NativeApi.llama_token_data[256];

    public LlamaSampler(float temperature, int topK, float topP, uint seed)
    {
        LlamaLibrary.EnsureInitialized();
        var chain = NativeApi.llama_sampler_chain_init(new NativeApi.llama_sampler_chain_params { no_perf = true });
        if (chain == IntPtr.Zero) throw new LlamaException("llama_sampler_chain_init failed");
        _handle = LlamaSamplerHandle.FromOwned(chain);
        // The chain takes ownership of every sampler added to it.
        if (topK > 0) NativeApi.llama_sampler_chain_add(chain, NativeApi.llama_sampler_init_top_k(topK));
        if (topP is > 0 and < 1) NativeApi.llama_sampler_chain_add(chain, NativeApi.llama_sampler_init_top_p(topP, 1));
        NativeApi.llama_sampler_chain_add(chain, NativeApi.llama_sampler_init_temp(temperature));
        NativeApi.llama_sampler_chain_add(chain, NativeApi.llama_sampler_init_dist(seed));
    }

    /// <summary>Draws one of <paramref name="candidates"/> using their logits.</summary>
    public int Sample(ReadOnlySpan<int> candidates, ReadOnlySpan<float> logits)
    {
        if (candidates.IsEmpty) throw new ArgumentException("no candidates", nameof(candidates));
        if (_buffer.Length < candidates.Length) _buffer = new NativeApi.llama_token_data[candidates.Length];
        for (var i = 0; i < candidates.Length; i++)
            _buffer[i] = new NativeApi.llama_token_data { id = candidates[i], logit = logits[candidates[i]] };
        fixed (NativeApi.llama_token_data* data = _buffer)
        {
            var array = new NativeApi.llama_token_data_array { data = data, size = (nuint)candidates.Length, selected = -1 };
            NativeApi.llama_sampler_apply(_handle.DangerousGetHandle(), &array);
            if (array.selected < 0 || array.selected >= (long)array.size)
                throw new LlamaException("sampler selected no token");
            var token = array.data[array.selected].id;
            NativeApi.llama_sampler_accept(_handle.DangerousGetHandle(), token);
            return token;
        }
    }

    public void Dispose() => _handle.Dispose();
}
