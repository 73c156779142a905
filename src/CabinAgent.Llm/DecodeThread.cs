using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace CabinAgent.Llm;

/// <summary>
/// One dedicated thread for model decoding, running at a lower scheduling priority (a higher nice value) than the
/// rest of the agent, so that on a busy box the safety path and the bus are scheduled before the model. ggml's own
/// worker threads are created from this thread and inherit its priority.
/// </summary>
internal sealed class DecodeThread : IDisposable
{
    private readonly BlockingCollection<Action> _work = new();
    private readonly Thread _thread;

    public DecodeThread(int nice)
    {
        _thread = new Thread(() => Run(nice)) { IsBackground = true, Name = "llm-decode" };
        _thread.Start();
    }

    /// <summary>The nice value the thread actually got; null until it started, or when the OS refused.</summary>
    public int? AppliedNice { get; private set; }

    public Task<T> RunAsync<T>(Func<T> work)
    {
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _work.Add(() =>
        {
            try { completion.SetResult(work()); }
            catch (Exception ex) { completion.SetException(ex); }
        });
        return completion.Task;
    }

    private void Run(int nice)
    {
        if (nice != 0 && OperatingSystem.IsLinux())
        {
            try
            {
                // PRIO_PROCESS with a thread id sets that thread's nice value on Linux.
                if (setpriority(0, (uint)gettid(), nice) == 0) AppliedNice = nice;
            }
            catch (EntryPointNotFoundException)
            {
                // An old libc without gettid(): decode at normal priority.
            }
        }
        foreach (var item in _work.GetConsumingEnumerable())
            item();
    }

    public void Dispose()
    {
        _work.CompleteAdding();
        _thread.Join(TimeSpan.FromSeconds(5));
        _work.Dispose();
    }

    [DllImport("libc")]
    private static extern int setpriority(int which, uint who, int prio);

    [DllImport("libc")]
    private static extern int gettid();
}
