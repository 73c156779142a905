using System.Collections.Concurrent;

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
        // When the OS refuses, decode at normal priority.
        if (nice != 0 && ThreadNice.TrySetCurrentThread(nice) is null) AppliedNice = nice;
        foreach (var item in _work.GetConsumingEnumerable())
            item();
    }

    public void Dispose()
    {
        _work.CompleteAdding();
        _thread.Join(TimeSpan.FromSeconds(5));
        _work.Dispose();
    }
}
