using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

[assembly: DisableRuntimeMarshalling]

namespace CabinAgent.Training.Native;

// Training-only declarations of the llama.cpp / ggml C API, mirrored from the headers of the commit LLamaSharp
// 0.30.0 was built from (llama.cpp c0c7e147e7efa6c5858754b47259ba4880f8a906: include/llama.h "training",
// ggml/include/ggml-opt.h, ggml/include/gguf.h, ggml-backend.h). They resolve to the libllama / libggml that
// CabinAgent.Llm's LlamaLibrary loaded (LlamaLibrary.BindImportsOf): one llama.cpp in the process. The runtime
// declarations (model load, context, decode, quantize) stay in CabinAgent.Llm.Native.NativeApi and are used from there.
//
// Where this commit differs from later headers (checked against the shipped binary, not only a header):
//  - ggml_opt_optimizer_params is 28 bytes: adamw {alpha, beta1, beta2, eps, wd} and sgd {alpha, wd};
//    ggml_opt_get_default_optimizer_params writes exactly 7 floats. There is no gclip field yet.
//
// Ownership:
//  - llama_opt_init creates an optimizer context owned by the llama_context (freed by llama_free); the
//    ggml_opt_context_t handed to callbacks is borrowed, valid while that llama_context lives.
//  - ggml_opt_dataset_init returns a dataset the caller frees with ggml_opt_dataset_free; ggml_opt_dataset_data /
//    _labels return borrowed tensors owned by the dataset, host memory (ggml_get_data is valid).
//  - ggml_opt_result_init returns a result freed with ggml_opt_result_free.
//  - ggml_opt_labels returns a tensor owned by the optimizer context, valid until the next ggml_opt_alloc
//    (so only inside the callbacks of the step that allocated it).
//  - gguf_init_empty / gguf_init_from_file return a context freed with gguf_free; gguf_set_* copy their arguments.
//  - ggml_init returns a context freed with ggml_free; tensors made in it are owned by it.
internal static unsafe class TrainingApi
{
    internal const string LlamaLib = "llama";
    internal const string GgmlBaseLib = "ggml-base";

    internal const int GgmlTypeF32 = 0, GgmlTypeI32 = 26;               // enum ggml_type
    internal const int GgufTypeUInt8 = 0, GgufTypeInt32 = 5, GgufTypeFloat32 = 6, GgufTypeBool = 7, GgufTypeString = 8; // enum gguf_type

    [StructLayout(LayoutKind.Sequential)]
    internal struct ggml_opt_optimizer_params
    {
        public float adamw_alpha, adamw_beta1, adamw_beta2, adamw_eps, adamw_wd;
        public float sgd_alpha, sgd_wd;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct llama_opt_params
    {
        public uint n_ctx_train;
        public delegate* unmanaged[Cdecl]<IntPtr, void*, bool> param_filter;
        public void* param_filter_ud;
        public delegate* unmanaged[Cdecl]<void*, ggml_opt_optimizer_params> get_opt_pars;
        public void* get_opt_pars_ud;
        public int optimizer_type;                 // enum ggml_opt_optimizer_type: 0 = AdamW
    }

    // ---- llama: training ----

    [DllImport(LlamaLib)] internal static extern bool llama_opt_param_filter_all(IntPtr tensor, void* userData);
    [DllImport(LlamaLib)] internal static extern void llama_opt_init(IntPtr ctx, IntPtr model, llama_opt_params p);
    [DllImport(LlamaLib)] internal static extern void llama_opt_epoch(IntPtr ctx, IntPtr dataset, IntPtr resultTrain, IntPtr resultEval,
        long idataSplit,
        delegate* unmanaged[Cdecl]<bool, IntPtr, IntPtr, IntPtr, long, long, long, void> callbackTrain,
        delegate* unmanaged[Cdecl]<bool, IntPtr, IntPtr, IntPtr, long, long, long, void> callbackEval);

    // ---- ggml-opt ----

    [DllImport(GgmlBaseLib)] internal static extern IntPtr ggml_opt_dataset_init(int typeData, int typeLabel, long neDatapoint, long neLabel, long ndata, long ndataShard);
    [DllImport(GgmlBaseLib)] internal static extern void ggml_opt_dataset_free(IntPtr dataset);
    [DllImport(GgmlBaseLib)] internal static extern IntPtr ggml_opt_dataset_data(IntPtr dataset);
    [DllImport(GgmlBaseLib)] internal static extern IntPtr ggml_opt_dataset_labels(IntPtr dataset);
    [DllImport(GgmlBaseLib)] internal static extern void ggml_opt_reset(IntPtr optCtx, bool optimizer);
    [DllImport(GgmlBaseLib)] internal static extern IntPtr ggml_opt_labels(IntPtr optCtx);
    [DllImport(GgmlBaseLib)] internal static extern IntPtr ggml_opt_result_init();
    [DllImport(GgmlBaseLib)] internal static extern void ggml_opt_result_free(IntPtr result);
    [DllImport(GgmlBaseLib)] internal static extern void ggml_opt_result_loss(IntPtr result, double* loss, double* unc);

    // ---- ggml: tensors ----

    [DllImport(GgmlBaseLib)] internal static extern void* ggml_get_data(IntPtr tensor);
    [DllImport(GgmlBaseLib)] internal static extern byte* ggml_get_name(IntPtr tensor);
    [DllImport(GgmlBaseLib)] internal static extern long ggml_nelements(IntPtr tensor);
    [DllImport(GgmlBaseLib)] internal static extern void ggml_backend_tensor_set(IntPtr tensor, void* data, nuint offset, nuint size);

    // ---- gguf: writing ----

    [DllImport(GgmlBaseLib)] internal static extern void gguf_set_val_bool(IntPtr ctx, byte* key, bool val);
    [DllImport(GgmlBaseLib)] internal static extern void gguf_set_val_i32(IntPtr ctx, byte* key, int val);
    [DllImport(GgmlBaseLib)] internal static extern void gguf_set_arr_data(IntPtr ctx, byte* key, int type, void* data, nuint n);
    [DllImport(GgmlBaseLib)] internal static extern void gguf_set_arr_str(IntPtr ctx, byte* key, byte** data, nuint n);
    [DllImport(GgmlBaseLib)] internal static extern nuint gguf_get_data_offset(IntPtr ctx);
}
