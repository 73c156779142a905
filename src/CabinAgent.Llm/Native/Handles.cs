using System.Runtime.InteropServices;

namespace CabinAgent.Llm.Native;

// One SafeHandle per owned native object, so a forgotten Dispose is still freed by the finalizer
// and nothing is freed twice. Borrowed pointers (vocab, memory) are never wrapped in handles.

internal sealed class LlamaModelHandle() : SafeHandle(IntPtr.Zero, ownsHandle: true)
{
    public override bool IsInvalid => handle == IntPtr.Zero;

    public static LlamaModelHandle FromOwned(IntPtr model)
    {
        var h = new LlamaModelHandle();
        h.SetHandle(model);
        return h;
    }

    protected override bool ReleaseHandle()
    {
        NativeApi.llama_model_free(handle);
        return true;
    }
}

internal sealed class LlamaContextHandle() : SafeHandle(IntPtr.Zero, ownsHandle: true)
{
    public override bool IsInvalid => handle == IntPtr.Zero;

    public static LlamaContextHandle FromOwned(IntPtr ctx)
    {
        var h = new LlamaContextHandle();
        h.SetHandle(ctx);
        return h;
    }

    protected override bool ReleaseHandle()
    {
        NativeApi.llama_free(handle);
        return true;
    }
}

internal sealed class LlamaSamplerHandle() : SafeHandle(IntPtr.Zero, ownsHandle: true)
{
    public override bool IsInvalid => handle == IntPtr.Zero;

    public static LlamaSamplerHandle FromOwned(IntPtr sampler)
    {
        var h = new LlamaSamplerHandle();
        h.SetHandle(sampler);
        return h;
    }

    protected override bool ReleaseHandle()
    {
        NativeApi.llama_sampler_free(handle);
        return true;
    }
}

internal sealed class GgufHandle() : SafeHandle(IntPtr.Zero, ownsHandle: true)
{
    public override bool IsInvalid => handle == IntPtr.Zero;

    public static GgufHandle FromOwned(IntPtr ctx)
    {
        var h = new GgufHandle();
        h.SetHandle(ctx);
        return h;
    }

    protected override bool ReleaseHandle()
    {
        NativeApi.gguf_free(handle);
        return true;
    }
}

/// <summary>
/// A loaded LoRA adapter. It holds a reference on its model's handle, so the model cannot be freed
/// while the adapter lives (llama_model_free would free the adapter under us), and the adapter is
/// freed before that reference is given back.
/// </summary>
internal sealed class LlamaLoraAdapterHandle() : SafeHandle(IntPtr.Zero, ownsHandle: true)
{
    private LlamaModelHandle? _model;

    public override bool IsInvalid => handle == IntPtr.Zero;

    public static LlamaLoraAdapterHandle FromOwned(IntPtr adapter, LlamaModelHandle model)
    {
        var h = new LlamaLoraAdapterHandle();
        var added = false;
        model.DangerousAddRef(ref added);
        h._model = model;
        h.SetHandle(adapter);
        return h;
    }

    protected override bool ReleaseHandle()
    {
        NativeApi.llama_adapter_lora_free(handle);
        _model?.DangerousRelease();
        return true;
    }
}
