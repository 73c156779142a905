namespace CabinAgent.Training;

/// <summary>
/// Which weights llama.cpp's trainer may update at this commit (c0c7e14). Its backward graph aborts the process
/// (GGML_ASSERT "!node->view_src || …" in ggml_build_backward_expand) as soon as a gradient is needed through a
/// write into the KV cache: K and V are stored with ggml_set_rows, an in-place view op with no backward (the same
/// crash as upstream issues #15279 and #18805; the older ggml_cpy path the probe met only dropped those
/// gradients). So nothing upstream of any layer's K/V projection may be a parameter: the lower layers, the last
/// layer's attention norm and its K/V projections stay at their (seeded) initialisation, and training updates the
/// last layer's Q and output projections, its feed-forward block, the output norm and the output matrix. The token
/// embedding gets no gradient anyway (a FIXME in llama_opt_init). The frozen part is a fixed random feature
/// extractor (CabinModelWriter scales it to keep norms); see docs/llm.md.
/// </summary>
public static class TrainedTensors
{
    public static bool IsTrained(string name, int layers)
    {
        if (name is "output.weight" or "output_norm.weight") return true;
        var last = $"blk.{layers - 1}.";
        if (!name.StartsWith(last, StringComparison.Ordinal)) return false;
        var tensor = name[last.Length..];
        return tensor is not ("attn_norm.weight" or "attn_k.weight" or "attn_v.weight");
    }
}
