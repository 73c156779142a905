using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

[assembly: DisableRuntimeMarshalling]

namespace CabinAgent.Llm.Native;

// Raw declarations of the llama.cpp / ggml C API we use, mirrored from the headers of the commit LLamaSharp
// 0.30.0 was built from (llama.cpp c0c7e147e7efa6c5858754b47259ba4880f8a906: include/llama.h,
// ggml/include/gguf.h, ggml-backend.h). They bind to the libllama LLamaSharp loaded (LlamaLibrary), so these
// and LLamaSharp's own NativeApi call the same library; NativeLayoutTests holds every struct to LLamaSharp's
// declaration of it, field by field. Declared here rather than taken from LLamaSharp: functions it does not
// wrap (model creation from parameters, gguf writing), and the decoder's hot path kept free of its marshalling. Runtime marshalling is disabled for this assembly: every signature here is
// blittable (C bool is a 1-byte bool, strings are passed as NUL-terminated UTF-8 byte pointers), so a
// call costs nothing beyond the transition. Nothing outside the Native folder sees these pointers:
// the SafeHandle wrappers (LlamaModel, LlamaContext, LlamaSampler, LlamaBatch) own them.
//
// Ownership, as llama.h states it:
//  - llama_model_load_from_file / llama_model_init_from_user return a model the caller frees with llama_model_free.
//  - llama_init_from_model returns a context the caller frees with llama_free; the model must outlive it.
//  - llama_model_get_vocab / llama_get_memory return borrowed pointers owned by the model / context.
//  - llama_sampler_* objects are freed with llama_sampler_free (a chain owns the samplers added to it).
//  - llama_batch_init allocates arrays freed by llama_batch_free.
//  - llama_get_logits_ith returns a pointer into the context, valid until the next llama_decode.
//  - gguf_init_* return a context freed with gguf_free.
//  - llama_adapter_lora_init returns an adapter owned by the caller until llama_adapter_lora_free;
//    llama_model_free frees any adapter still loaded, so an adapter must be freed before its model.
//    llama_set_adapters_lora only borrows the adapters: they must outlive their use by the context.
internal static unsafe class NativeApi
{
    internal const string LlamaLib = "llama";
    internal const string GgmlLib = "ggml";
    internal const string GgmlBaseLib = "ggml-base";

    // ---- structs (sizes are checked by tests against the C header's sizeof) ----

    [StructLayout(LayoutKind.Sequential)]
    internal struct llama_model_params
    {
        public IntPtr devices;                     // ggml_backend_dev_t *
        public IntPtr tensor_buft_overrides;       // const llama_model_tensor_buft_override *
        public int n_gpu_layers;
        public int split_mode;                     // enum llama_split_mode
        public int load_mode;                      // enum llama_load_mode
        public int main_gpu;
        public IntPtr tensor_split;                // const float *
        public IntPtr progress_callback;           // llama_progress_callback
        public IntPtr progress_callback_user_data;
        public IntPtr kv_overrides;                // const llama_model_kv_override *
        public bool vocab_only;
        public bool check_tensors;
        public bool use_extra_bufts;
        public bool no_host;
        public bool no_alloc;
        public bool load_mtp;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct llama_context_params
    {
        public uint n_ctx;
        public uint n_batch;
        public uint n_ubatch;
        public uint n_seq_max;
        public uint n_rs_seq;
        public uint n_outputs_max;
        public int n_threads;
        public int n_threads_batch;
        public int ctx_type;                       // enum llama_context_type
        public int rope_scaling_type;
        public int pooling_type;
        public int attention_type;
        public int flash_attn_type;
        public float rope_freq_base;
        public float rope_freq_scale;
        public float yarn_ext_factor;
        public float yarn_attn_factor;
        public float yarn_beta_fast;
        public float yarn_beta_slow;
        public uint yarn_orig_ctx;
        public float defrag_thold;
        public IntPtr cb_eval;
        public IntPtr cb_eval_user_data;
        public int type_k;                         // enum ggml_type
        public int type_v;
        public delegate* unmanaged[Cdecl]<void*, bool> abort_callback;
        public void* abort_callback_data;
        public bool embeddings;
        public bool offload_kqv;
        public bool no_perf;
        public bool op_offload;
        public bool swa_full;
        public bool kv_unified;
        public IntPtr samplers;                    // llama_sampler_seq_config *
        public nuint n_samplers;
        public IntPtr ctx_other;                   // llama_context *
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct llama_batch
    {
        public int n_tokens;
        public int* token;
        public float* embd;
        public int* pos;
        public int* n_seq_id;
        public int** seq_id;
        public sbyte* logits;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct llama_chat_message
    {
        public byte* role;
        public byte* content;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct llama_model_quantize_params
    {
        public int nthread;
        public int ftype;                          // enum llama_ftype
        public int output_tensor_type;             // enum ggml_type
        public int token_embedding_type;           // enum ggml_type
        public bool allow_requantize;
        public bool quantize_output_tensor;
        public bool only_copy;
        public bool pure;
        public bool keep_split;
        public bool dry_run;
        public IntPtr imatrix;
        public IntPtr kv_overrides;
        public IntPtr tt_overrides;
        public IntPtr prune_layers;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct llama_token_data
    {
        public int id;
        public float logit;
        public float p;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct llama_token_data_array
    {
        public llama_token_data* data;
        public nuint size;
        public long selected;
        public bool sorted;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct llama_sampler_chain_params
    {
        public bool no_perf;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct ggml_init_params
    {
        public nuint mem_size;
        public IntPtr mem_buffer;
        public bool no_alloc;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct gguf_init_params
    {
        public bool no_alloc;
        public IntPtr ctx;                         // struct ggml_context ** (optional)
    }

    // ---- ggml: backends and logging ----

    [DllImport(GgmlLib)] internal static extern void ggml_backend_load_all_from_path(byte* dirPath);
    [DllImport(GgmlLib)] internal static extern nuint ggml_backend_dev_count();
    [DllImport(GgmlBaseLib)] internal static extern IntPtr ggml_init(ggml_init_params p);
    [DllImport(GgmlBaseLib)] internal static extern void ggml_free(IntPtr ctx);
    [DllImport(GgmlBaseLib)] internal static extern IntPtr ggml_new_tensor_1d(IntPtr ctx, int type, long ne0);
    [DllImport(GgmlBaseLib)] internal static extern IntPtr ggml_new_tensor_2d(IntPtr ctx, int type, long ne0, long ne1);
    [DllImport(GgmlBaseLib)] internal static extern IntPtr ggml_set_name(IntPtr tensor, byte* name);
    [DllImport(GgmlBaseLib)] internal static extern nuint ggml_nbytes(IntPtr tensor);

    // ---- gguf (metadata read/write, used to build the test model) ----

    [DllImport(GgmlBaseLib)] internal static extern IntPtr gguf_init_empty();
    [DllImport(GgmlBaseLib)] internal static extern IntPtr gguf_init_from_file(byte* fname, gguf_init_params p);
    [DllImport(GgmlBaseLib)] internal static extern void gguf_free(IntPtr ctx);
    [DllImport(GgmlBaseLib)] internal static extern long gguf_get_n_kv(IntPtr ctx);
    [DllImport(GgmlBaseLib)] internal static extern long gguf_find_key(IntPtr ctx, byte* key);
    [DllImport(GgmlBaseLib)] internal static extern byte* gguf_get_key(IntPtr ctx, long keyId);
    [DllImport(GgmlBaseLib)] internal static extern int gguf_get_kv_type(IntPtr ctx, long keyId);
    [DllImport(GgmlBaseLib)] internal static extern byte* gguf_get_val_str(IntPtr ctx, long keyId);
    [DllImport(GgmlBaseLib)] internal static extern uint gguf_get_val_u32(IntPtr ctx, long keyId);
    [DllImport(GgmlBaseLib)] internal static extern nuint gguf_get_arr_n(IntPtr ctx, long keyId);
    [DllImport(GgmlBaseLib)] internal static extern long gguf_remove_key(IntPtr ctx, byte* key);
    [DllImport(GgmlBaseLib)] internal static extern void gguf_set_val_u32(IntPtr ctx, byte* key, uint val);
    [DllImport(GgmlBaseLib)] internal static extern void gguf_set_val_f32(IntPtr ctx, byte* key, float val);
    [DllImport(GgmlBaseLib)] internal static extern void gguf_set_val_str(IntPtr ctx, byte* key, byte* val);
    [DllImport(GgmlBaseLib)] internal static extern void gguf_add_tensor(IntPtr ctx, IntPtr tensor);
    [DllImport(GgmlBaseLib)] internal static extern bool gguf_write_to_file(IntPtr ctx, byte* fname, bool onlyMeta);
    [DllImport(GgmlBaseLib)] internal static extern nuint gguf_get_alignment(IntPtr ctx);
    [DllImport(GgmlBaseLib)] internal static extern nuint gguf_get_meta_size(IntPtr ctx);

    // ---- llama: lifecycle ----

    [DllImport(LlamaLib)] internal static extern void llama_backend_init();
    [DllImport(LlamaLib)] internal static extern void llama_log_set(delegate* unmanaged[Cdecl]<int, byte*, void*, void> callback, void* userData);
    [DllImport(LlamaLib)] internal static extern byte* llama_print_system_info();
    [DllImport(LlamaLib)] internal static extern llama_model_params llama_model_default_params();
    [DllImport(LlamaLib)] internal static extern llama_context_params llama_context_default_params();
    [DllImport(LlamaLib)] internal static extern llama_model_quantize_params llama_model_quantize_default_params();

    // ---- llama: model ----

    [DllImport(LlamaLib)] internal static extern IntPtr llama_model_load_from_file(byte* path, llama_model_params p);
    [DllImport(LlamaLib)] internal static extern void llama_model_save_to_file(IntPtr model, byte* path);
    [DllImport(LlamaLib)] internal static extern void llama_model_free(IntPtr model);
    [DllImport(LlamaLib)] internal static extern uint llama_model_quantize(byte* inPath, byte* outPath, llama_model_quantize_params* p);
    [DllImport(LlamaLib)] internal static extern IntPtr llama_model_get_vocab(IntPtr model);
    [DllImport(LlamaLib)] internal static extern int llama_model_n_ctx_train(IntPtr model);
    [DllImport(LlamaLib)] internal static extern int llama_model_n_embd(IntPtr model);
    [DllImport(LlamaLib)] internal static extern int llama_model_n_layer(IntPtr model);
    [DllImport(LlamaLib)] internal static extern int llama_model_n_head(IntPtr model);
    [DllImport(LlamaLib)] internal static extern int llama_model_desc(IntPtr model, byte* buf, nuint bufSize);
    [DllImport(LlamaLib)] internal static extern int llama_model_ftype(IntPtr model);
    [DllImport(LlamaLib)] internal static extern byte* llama_ftype_name(int ftype);
    [DllImport(LlamaLib)] internal static extern ulong llama_model_size(IntPtr model);
    [DllImport(LlamaLib)] internal static extern ulong llama_model_n_params(IntPtr model);
    [DllImport(LlamaLib)] internal static extern byte* llama_model_chat_template(IntPtr model, byte* name);
    [DllImport(LlamaLib)] internal static extern int llama_model_meta_val_str(IntPtr model, byte* key, byte* buf, nuint bufSize);

    // ---- llama: LoRA adapters ----

    [DllImport(LlamaLib)] internal static extern IntPtr llama_adapter_lora_init(IntPtr model, byte* pathLora);
    [DllImport(LlamaLib)] internal static extern void llama_adapter_lora_free(IntPtr adapter);
    [DllImport(LlamaLib)] internal static extern int llama_adapter_meta_val_str(IntPtr adapter, byte* key, byte* buf, nuint bufSize);
    [DllImport(LlamaLib)] internal static extern int llama_set_adapters_lora(IntPtr ctx, IntPtr* adapters, nuint nAdapters, float* scales);

    // ---- llama: vocab ----

    [DllImport(LlamaLib)] internal static extern int llama_vocab_n_tokens(IntPtr vocab);
    [DllImport(LlamaLib)] internal static extern bool llama_vocab_is_eog(IntPtr vocab, int token);
    [DllImport(LlamaLib)] internal static extern bool llama_vocab_is_control(IntPtr vocab, int token);
    [DllImport(LlamaLib)] internal static extern bool llama_vocab_get_add_bos(IntPtr vocab);
    [DllImport(LlamaLib)] internal static extern int llama_tokenize(IntPtr vocab, byte* text, int textLen, int* tokens,
        int nTokensMax, bool addSpecial, bool parseSpecial);
    [DllImport(LlamaLib)] internal static extern int llama_token_to_piece(IntPtr vocab, int token, byte* buf, int length,
        int lstrip, bool special);
    [DllImport(LlamaLib)] internal static extern int llama_chat_apply_template(byte* tmpl, llama_chat_message* chat, nuint nMsg,
        bool addAssistant, byte* buf, int length);

    // ---- llama: context, decoding, memory ----

    [DllImport(LlamaLib)] internal static extern IntPtr llama_init_from_model(IntPtr model, llama_context_params p);
    [DllImport(LlamaLib)] internal static extern void llama_free(IntPtr ctx);
    [DllImport(LlamaLib)] internal static extern uint llama_n_ctx(IntPtr ctx);
    [DllImport(LlamaLib)] internal static extern uint llama_n_batch(IntPtr ctx);
    [DllImport(LlamaLib)] internal static extern int llama_decode(IntPtr ctx, llama_batch batch);
    [DllImport(LlamaLib)] internal static extern float* llama_get_logits_ith(IntPtr ctx, int i);
    [DllImport(LlamaLib)] internal static extern IntPtr llama_get_memory(IntPtr ctx);
    [DllImport(LlamaLib)] internal static extern bool llama_memory_seq_rm(IntPtr mem, int seqId, int p0, int p1);
    [DllImport(LlamaLib)] internal static extern void llama_memory_clear(IntPtr mem, bool data);
    [DllImport(LlamaLib)] internal static extern int llama_memory_seq_pos_max(IntPtr mem, int seqId);
    [DllImport(LlamaLib)] internal static extern void llama_set_n_threads(IntPtr ctx, int nThreads, int nThreadsBatch);
    [DllImport(LlamaLib)] internal static extern llama_batch llama_batch_get_one(int* tokens, int nTokens);
    [DllImport(LlamaLib)] internal static extern llama_batch llama_batch_init(int nTokens, int embd, int nSeqMax);
    [DllImport(LlamaLib)] internal static extern void llama_batch_free(llama_batch batch);

    // ---- llama: samplers ----

    [DllImport(LlamaLib)] internal static extern IntPtr llama_sampler_chain_init(llama_sampler_chain_params p);
    [DllImport(LlamaLib)] internal static extern void llama_sampler_chain_add(IntPtr chain, IntPtr sampler);
    [DllImport(LlamaLib)] internal static extern IntPtr llama_sampler_init_top_k(int k);
    [DllImport(LlamaLib)] internal static extern IntPtr llama_sampler_init_top_p(float p, nuint minKeep);
    [DllImport(LlamaLib)] internal static extern IntPtr llama_sampler_init_temp(float t);
    [DllImport(LlamaLib)] internal static extern IntPtr llama_sampler_init_dist(uint seed);
    [DllImport(LlamaLib)] internal static extern IntPtr llama_sampler_init_greedy();
    [DllImport(LlamaLib)] internal static extern void llama_sampler_apply(IntPtr sampler, llama_token_data_array* candidates);
    [DllImport(LlamaLib)] internal static extern void llama_sampler_accept(IntPtr sampler, int token);
    [DllImport(LlamaLib)] internal static extern void llama_sampler_reset(IntPtr sampler);
    [DllImport(LlamaLib)] internal static extern void llama_sampler_free(IntPtr sampler);
}
