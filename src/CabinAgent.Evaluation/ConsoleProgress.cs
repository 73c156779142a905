using Spectre.Console;

namespace CabinAgent.Evaluation;

/// <summary>A progress bar on stderr while the eval runs — only for a person watching a terminal, never in logs or CI.</summary>
public static class ConsoleProgress
{
    /// <summary>Runs <paramref name="work"/>, giving it a callback that reports how many of <paramref name="total"/> are done.</summary>
    public static async Task<T> RunAsync<T>(int total, string label, Func<Action<int>, Task<T>> work)
    {
        if (Console.IsErrorRedirected || total <= 0)
            return await work(_ => { }).ConfigureAwait(false);
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return await console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(label), maxValue: total);
                return await work(done => task.Value = done).ConfigureAwait(false);
            }).ConfigureAwait(false);
    }
}
