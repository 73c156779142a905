using Microsoft.Win32.SafeHandles;

namespace CabinAgent.Speech.Whisper.Native;

/// <summary>Owns a <c>whisper_context *</c>; released with <c>whisper_free</c> exactly once.</summary>
internal sealed class WhisperContextHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public WhisperContextHandle() : base(ownsHandle: true) { }

    public static WhisperContextHandle FromOwned(IntPtr context)
    {
        var handle = new WhisperContextHandle();
        handle.SetHandle(context);
        return handle;
    }

    protected override bool ReleaseHandle()
    {
        WhisperNative.whisper_free(handle);
        return true;
    }
}
