using System.Runtime.InteropServices;

namespace CabinAgent.Llm;

/// <summary>
/// Lowers the calling thread's scheduling priority (a higher nice value) on Linux, which needs no privilege. The one
/// <c>setpriority</c> binding of the agent: the LLM decode thread uses it so the safety path and the bus are scheduled
/// before the model, and <c>bench safety</c> uses it for the nice-10 load that stands in for a decode. It lives here,
/// the lowest project both reference.
/// </summary>
public static partial class ThreadNice
{
    /// <summary>Sets the calling thread's nice value; null when it took, otherwise why not (the thread keeps its priority).</summary>
    public static string? TrySetCurrentThread(int nice)
    {
        if (!OperatingSystem.IsLinux()) return "thread priorities are set on Linux only";
        try
        {
            // PRIO_PROCESS with a thread id sets that thread's nice value on Linux.
            return setpriority(0, gettid(), nice) == 0 ? null : $"setpriority failed (errno {Marshal.GetLastPInvokeError()})";
        }
        catch (EntryPointNotFoundException)
        {
            return "this libc has no gettid()";
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setpriority(int which, int who, int prio);

    [LibraryImport("libc")]
    private static partial int gettid();
}
