using System.Diagnostics;
using System.Globalization;
using CabinAgent.Training.Native;

namespace CabinAgent.Training;

/// <summary>
/// What the native callbacks of one training run need between calls: the optimizer context, the windows of the
/// current epoch, the step count for the learning-rate schedule, the label buffer, and the progress line. Callbacks
/// run on llama.cpp's thread, inside llama_opt_epoch; anything thrown is kept in <see cref="Error"/> and rethrown
/// after the epoch, never across native frames.
/// </summary>
internal sealed unsafe class StepState(TrainingRecipe recipe, long totalSteps, int vocabSize, Action<string> progress)
{
    public static readonly Lock RunLock = new();
    public static StepState? Current;

    private readonly float[] _labels = new float[(long)vocabSize * recipe.Context];
    private readonly Stopwatch _clock = new();
    private List<CabinTrainer.Window> _windows = [];
    private int _windowInEpoch;
    private int _epoch;
    private long _epochStartStep;
    private TimeSpan _lastProgress;

    public int Layers => recipe.Layers;

    public IntPtr Optimizer { get; private set; }
    public bool Capturing { get; set; }
    public long Step { get; set; }
    public string? Error { get; private set; }
    public float LearningRate { get; private set; }

    public void Capture(IntPtr optCtx)
    {
        if (Capturing) Optimizer = optCtx;
    }

    public void BeginEpoch(List<CabinTrainer.Window> windows, int epoch)
    {
        _windows = windows;
        _windowInEpoch = 0;
        _epoch = epoch;
        _epochStartStep = Step;
        _clock.Restart();
        _lastProgress = TimeSpan.Zero;
    }

    /// <summary>Linear warm-up, then cosine decay to <see cref="TrainingRecipe.MinLearningRateFraction"/> of the peak.</summary>
    public static float Schedule(TrainingRecipe recipe, long step, long totalSteps)
    {
        if (step < recipe.WarmupSteps) return recipe.LearningRate * (step + 1) / recipe.WarmupSteps;
        var progress = Math.Clamp((double)(step - recipe.WarmupSteps) / Math.Max(1, totalSteps - recipe.WarmupSteps), 0, 1);
        var min = recipe.LearningRate * recipe.MinLearningRateFraction;
        return (float)(min + (recipe.LearningRate - min) * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }

    /// <summary>Called by llama.cpp before each optimizer step, after it set the step's inputs and labels.</summary>
    public TrainingApi.ggml_opt_optimizer_params BeforeStep()
    {
        try
        {
            if (Optimizer != IntPtr.Zero)
            {
                TrainingApi.ggml_opt_reset(Optimizer, false);
                if (_windowInEpoch < _windows.Count) SetLabels(_windows[_windowInEpoch]);
            }
            _windowInEpoch++;
            LearningRate = Schedule(recipe, Step, totalSteps);
            Step++;
        }
        catch (Exception ex)
        {
            Error ??= ex.Message;
        }
        return new TrainingApi.ggml_opt_optimizer_params
        {
            adamw_alpha = Error is null ? LearningRate : 0f,
            adamw_beta1 = 0.9f, adamw_beta2 = 0.999f, adamw_eps = 1e-8f, adamw_wd = recipe.WeightDecay,
            sgd_alpha = LearningRate, sgd_wd = 0f,
        };
    }

    // One-hot on answer positions, uniform elsewhere (see CabinTrainer: why not zero rows).
    private void SetLabels(CabinTrainer.Window window)
    {
        var labels = TrainingApi.ggml_opt_labels(Optimizer);
        var rows = recipe.Context;
        if (TrainingApi.ggml_nelements(labels) != _labels.Length)
            throw new InvalidOperationException($"label tensor has {TrainingApi.ggml_nelements(labels)} elements, expected {_labels.Length} ({rows} × {vocabSize})");
        var uniform = 1f / vocabSize;
        for (var r = 0; r < rows; r++)
        {
            var row = _labels.AsSpan(r * vocabSize, vocabSize);
            var target = window.Targets[r];
            if (target < 0) row.Fill(uniform);
            else
            {
                row.Clear();
                row[target] = 1f;
            }
        }
        fixed (float* p = _labels)
            TrainingApi.ggml_backend_tensor_set(labels, p, 0, (nuint)(_labels.Length * sizeof(float)));
    }

    /// <summary>Called by llama.cpp after each step: the progress line, at most every 2 seconds and at the epoch's end.</summary>
    public void AfterStep(IntPtr result, long batch, long batches)
    {
        try
        {
            var now = _clock.Elapsed;
            if (batch < batches && now - _lastProgress < TimeSpan.FromSeconds(2)) return;
            _lastProgress = now;
            double loss, unc;
            TrainingApi.ggml_opt_result_loss(result, &loss, &unc);
            var stepsThisEpoch = Step - _epochStartStep;
            var tokensPerSecond = stepsThisEpoch * (double)recipe.Context / Math.Max(now.TotalSeconds, 1e-3);
            var remaining = (totalSteps - Step) * recipe.Context / Math.Max(tokensPerSecond, 1);
            progress(string.Create(CultureInfo.InvariantCulture,
                $"epoch {_epoch}/{recipe.MaxEpochs} [{Bar(batch, batches)}] {batch}/{batches} objective {loss:F4} lr {LearningRate:0.###e0} {tokensPerSecond:N0} tokens/s ETA {TimeSpan.FromSeconds(remaining):hh\\:mm\\:ss} (at most, before early stopping)"));
        }
        catch (Exception ex)
        {
            Error ??= ex.Message;
        }
    }

    private static string Bar(long done, long total)
    {
        var filled = (int)(20 * done / Math.Max(total, 1));
        return new string('#', filled) + new string('.', 20 - filled);
    }
}
