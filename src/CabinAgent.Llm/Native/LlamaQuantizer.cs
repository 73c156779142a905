namespace CabinAgent.Llm.Native;

/// <summary>Quantisation types offered by <c>models quantize</c> (values are llama_ftype).</summary>
public enum QuantizationType
{
    F16 = 1,
    Q4_0 = 2,
    Q8_0 = 7,
    Q4_K_M = 15,
}

public static unsafe class LlamaQuantizer
{
    public static bool TryParse(string text, out QuantizationType type)
    {
        type = text.Trim().ToLowerInvariant() switch
        {
            "f16" => QuantizationType.F16,
            "q4_0" => QuantizationType.Q4_0,
            "q8_0" => QuantizationType.Q8_0,
            "q4_k_m" => QuantizationType.Q4_K_M,
            _ => (QuantizationType)(-1),
        };
        return (int)type >= 0;
    }

    /// <summary>Quantises a GGUF model file with <c>llama_model_quantize</c>; throws on failure.</summary>
    public static void Quantize(string input, string output, QuantizationType type, int threads = 0)
    {
        if (!File.Exists(input)) throw new LlamaException($"input model not found: {input}");
        LlamaLibrary.EnsureInitialized();
        var p = NativeApi.llama_model_quantize_default_params();
        p.ftype = (int)type;
        p.nthread = threads;
        p.allow_requantize = true;
        uint rc;
        fixed (byte* i = Utf8.NulTerminated(Path.GetFullPath(input)))
        fixed (byte* o = Utf8.NulTerminated(Path.GetFullPath(output)))
            rc = NativeApi.llama_model_quantize(i, o, &p);
        if (rc != 0 || !File.Exists(output))
            throw new LlamaException($"llama_model_quantize failed ({rc}) for {input} -> {output}");
    }
}
