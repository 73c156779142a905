using System.Diagnostics;
using CabinAgent.Pipeline;

namespace CabinAgent.Evaluation;

/// <summary>Runs cases one after another (latency is measured per case, so never in parallel) and scores them.</summary>
public static class EvalRunner
{
    /// <summary>Runs and scores every case; <paramref name="progress"/> is told after each.</summary>
    public static async Task<IReadOnlyList<CaseScore>> RunAsync(IReadOnlyList<EvalCase> cases, ICaseExecutor executor,
        Action<int, CaseScore>? progress = null, CancellationToken cancellationToken = default)
    {
        var scores = new List<CaseScore>(cases.Count);
        foreach (var c in cases)
        {
            cancellationToken.ThrowIfCancellationRequested();
            CaseOutcome outcome;
            var watch = Stopwatch.StartNew();
            try
            {
                outcome = await executor.RunAsync(c, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // A case that breaks the harness is a failed case with its reason, never a lost one.
                outcome = new CaseOutcome
                {
                    Outcome = Outcome.Error,
                    LatencyMs = watch.Elapsed.TotalMilliseconds,
                    Detail = $"harness: {ex.GetType().Name}: {ex.Message}",
                };
            }
            var score = Scoring.Score(c, outcome);
            scores.Add(score);
            progress?.Invoke(scores.Count, score);
        }
        return scores;
    }

    /// <summary>Keeps the cases of one language (<c>--lang</c>), or all when <paramref name="lang"/> is null.</summary>
    public static IReadOnlyList<EvalCase> Filter(IReadOnlyList<EvalCase> cases, string? lang) =>
        lang is null ? cases : cases.Where(c => c.Lang == lang).ToList();
}
