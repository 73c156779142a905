using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using CabinAgent.Actions;
using CabinAgent.Llm.Native;
using CabinAgent.Llm.Prompting;
using CabinAgent.Training.Corpus;
using CabinAgent.Training.Native;
using CabinAgent.Training.Tokenizer;

namespace CabinAgent.Training;

public sealed record TrainOptions
{
    public required string CorpusDirectory { get; init; }
    public required string Output { get; init; }
    public required TrainingRecipe Recipe { get; init; }
    public int Threads { get; init; } = 2;
    public bool Resume { get; init; }
}

public sealed record EpochReport(int Epoch, double TrainObjective, double ValidLoss, double TokensPerSecond, double Seconds);

/// <summary>What a run did: validation loss before training and after each epoch, the files it wrote.</summary>
public sealed record TrainingReport(
    double InitialValidLoss, IReadOnlyList<EpochReport> Epochs, bool StoppedEarly, double BestValidLoss,
    string Output, string F16Output, long OutputBytes, long F16Bytes, int VocabularySize, double AnswerTokensPerExample,
    double PromptTokensPerExample, ulong Parameters, int ResumedFromEpoch);

/// <summary>
/// Trains the cabin model from scratch with llama.cpp's own training API (llama_opt_init / llama_opt_epoch), one
/// engine for training and serving. The API's defects at this commit and what is done about them (docs/llm.md):
/// <list type="bullet">
/// <item>llama_opt_epoch never clears gradients: the optimizer-parameters callback (called before every optimizer
/// step) calls ggml_opt_reset(opt_ctx, false).</item>
/// <item>The labels are one-hot of every next token. The same callback rewrites the step's label tensor: one-hot
/// on the answer tokens, a uniform distribution elsewhere. An all-zero row would not do: ggml's cross-entropy gradient
/// for it is softmax/rows, which lowers every logit without bound; a uniform row has a fixed optimum.</item>
/// <item>A gradient through a KV-cache write (ggml_set_rows) aborts the process, and flash attention has no backward
/// pass: only the weights <see cref="TrainedTensors"/> names are parameters, the rest is a fixed random feature
/// extractor (CabinModelWriter), and the training context runs without flash attention. token_embd gets no gradient
/// (a FIXME in opt_init); the output matrix is separate from it.</item>
/// <item>Contexts are rounded up to a multiple of 256: the window is 256 tokens, one optimizer step per window.</item>
/// <item>No gradient clipping exists in this commit's AdamW parameters (7 floats, no gclip): warm-up and a small
/// learning rate stand in for it.</item>
/// </list>
/// Examples are packed into windows in a seeded order per epoch; the learning rate warms up linearly and decays by
/// a cosine to 10 %; the validation loss (mean negative log-likelihood of the answer tokens, teacher-forced, through
/// a second inference context on the same weights) is measured before training and after every epoch; training stops
/// after <see cref="TrainingRecipe.Patience"/> epochs without improvement and exports the best epoch. After each
/// epoch a checkpoint (weights + state) is written so <c>--resume</c> continues from it; AdamW's moments are not
/// in it (llama.cpp exposes no way to save them), so a resumed run restarts them.
/// </summary>
public sealed unsafe class CabinTrainer
{
    private readonly TrainOptions _options;
    private readonly ActionCatalog _catalog;
    private readonly Action<string> _progress;
    private TrainingRecipe Recipe => _options.Recipe;

    public CabinTrainer(TrainOptions options, ActionCatalog catalog, Action<string>? progress = null)
    {
        _options = options;
        _catalog = catalog;
        _progress = progress ?? (_ => { });
    }

    public static string F16PathFor(string output) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(output))!, Path.GetFileNameWithoutExtension(output) + ".f16.gguf");

    private string CheckpointModel => _options.Output + ".ckpt.gguf";
    private string CheckpointState => _options.Output + ".ckpt.json";
    private string BestModel => _options.Output + ".best.gguf";

    private sealed record CheckpointData(int Epoch, long Step, double Best, int BadEpochs, double InitialValidLoss, List<EpochReport> History, string RecipeHash, string CorpusHash);

    public TrainingReport Train(CancellationToken cancellationToken = default)
    {
        var errors = Recipe.Validate();
        if (errors.Count > 0) throw new ArgumentException("training recipe: " + string.Join("; ", errors));
        var corpus = CorpusReader.Read(_options.CorpusDirectory, _catalog);
        var stamp = CabinModelStamp.For(_catalog, corpus.RecipeHash, Recipe);
        LlamaLibrary.EnsureInitialized();
        LlamaLibrary.BindImportsOf(typeof(CabinTrainer).Assembly);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(_options.Output))!);

        var vocab = CabinVocabulary.Build(_catalog, corpus.Train.Concat(corpus.Valid), Recipe.MaxWords);
        CheckpointData? resumed = null;
        string start;
        if (_options.Resume && File.Exists(CheckpointState) && File.Exists(CheckpointModel))
        {
            resumed = JsonSerializer.Deserialize<CheckpointData>(File.ReadAllText(CheckpointState))
                      ?? throw new CorpusException($"{CheckpointState} is not a checkpoint state; delete it to start over");
            if (resumed.RecipeHash != Recipe.Hash || resumed.CorpusHash != corpus.RecipeHash)
                throw new CorpusException($"checkpoint {CheckpointModel} was made with another recipe or corpus; delete it (and {CheckpointState}) or train without --resume");
            start = CheckpointModel;
            _progress($"resuming from {CheckpointModel} after epoch {resumed.Epoch} (AdamW moments restart)");
        }
        else
        {
            start = _options.Output + ".init.gguf";
            CabinModelWriter.WriteInitial(start, vocab, Recipe, stamp);
        }

        using var model = LoadForTraining(start);
        var zh = SingleToken(model, CabinPrompt.LanguageToken(LanguageDetector.Chinese));
        var en = SingleToken(model, CabinPrompt.LanguageToken(LanguageDetector.English));
        var train = Encode(model, corpus.Train, zh, en);
        var valid = SubsetForValidation(Encode(model, corpus.Valid, zh, en));
        var tooLong = train.Count(e => e.Tokens.Length > Recipe.Context);
        if (tooLong > 0) train = train.Where(e => e.Tokens.Length <= Recipe.Context).ToList();
        _progress(string.Create(CultureInfo.InvariantCulture,
            $"corpus {corpus.Directory}: {train.Count:N0} training examples ({tooLong} longer than {Recipe.Context} tokens left out), {corpus.Valid.Count:N0} validation; vocabulary {vocab.Tokens.Count:N0} tokens; {train.Average(e => e.Tokens.Length - e.AnswerStart):F1} answer tokens per example; {model.ParameterCount:N0} parameters"));

        using var context = model.CreateContext(new LlamaContextOptions { ContextLength = Recipe.Context, BatchSize = Recipe.Context, Threads = _options.Threads, FlashAttention = false });
        using var evalContext = model.CreateContext(new LlamaContextOptions { ContextLength = Recipe.Context, BatchSize = Recipe.Context, Threads = _options.Threads });

        var windowsPerEpoch = Pack(train, 0).Count;
        var state = new StepState(Recipe, windowsPerEpoch * Recipe.MaxEpochs, model.Vocab.TokenCount, _progress)
        {
            Step = resumed?.Step ?? 0,
        };
        var handle = GCHandle.Alloc(state);
        // llama.cpp's epoch callbacks carry no user data: the state of the one run in this process is a static.
        lock (StepState.RunLock)
        try
        {
            StepState.Current = state;
            var p = new TrainingApi.llama_opt_params
            {
                n_ctx_train = (uint)Recipe.Context,
                param_filter = &TrainedParameters,
                param_filter_ud = (void*)GCHandle.ToIntPtr(handle),
                get_opt_pars = &OnOptimizerParams,
                get_opt_pars_ud = (void*)GCHandle.ToIntPtr(handle),
                optimizer_type = 0,
            };
            TrainingApi.llama_opt_init(context.DangerousPointer, model.Pointer, p);
            CaptureOptimizer(context, state, Pack(train.Take(8).ToList(), 0));

            var history = resumed?.History ?? [];
            var initial = resumed?.InitialValidLoss ?? ValidationLoss(evalContext, valid);
            if (resumed is null) _progress(string.Create(CultureInfo.InvariantCulture, $"validation loss before training: {initial:F4}"));
            var best = resumed?.Best ?? double.PositiveInfinity;
            var bad = resumed?.BadEpochs ?? 0;
            var stoppedEarly = false;
            if (resumed is not null && File.Exists(CheckpointModel) && !File.Exists(BestModel))
                File.Copy(CheckpointModel, BestModel);
            for (var epoch = (resumed?.Epoch ?? 0) + 1; epoch <= Recipe.MaxEpochs; epoch++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var windows = Pack(train, epoch);
                var sw = Stopwatch.StartNew();
                var objective = RunEpoch(context, state, windows, epoch);
                var seconds = sw.Elapsed.TotalSeconds;
                var validLoss = ValidationLoss(evalContext, valid);
                var report = new EpochReport(epoch, objective, validLoss, windows.Count * (double)Recipe.Context / seconds, seconds);
                history.Add(report);
                _progress(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {epoch}/{Recipe.MaxEpochs}: objective {objective:F4}, validation loss {validLoss:F4} (best {Math.Min(best, validLoss):F4}), {report.TokensPerSecond:N0} tokens/s, {seconds:F1} s"));
                if (validLoss < best - 1e-4)
                {
                    best = validLoss;
                    bad = 0;
                    Save(model, BestModel, stamp);
                }
                else bad++;
                Save(model, CheckpointModel, stamp);
                File.WriteAllText(CheckpointState, JsonSerializer.Serialize(new CheckpointData(epoch, state.Step, best, bad, initial, history, Recipe.Hash, corpus.RecipeHash)));
                if (bad >= Recipe.Patience && epoch < Recipe.MaxEpochs)
                {
                    stoppedEarly = true;
                    _progress($"no better validation loss for {bad} epochs: stopping early, exporting epoch {history.MinBy(h => h.ValidLoss)!.Epoch}");
                    break;
                }
            }

            var f16 = F16PathFor(_options.Output);
            LlamaQuantizer.Quantize(BestModel, f16, QuantizationType.F16, _options.Threads);
            LlamaQuantizer.Quantize(BestModel, _options.Output, QuantizationType.Q4_K_M, _options.Threads);
            foreach (var f in new[] { BestModel, CheckpointModel, CheckpointState, _options.Output + ".init.gguf" })
                if (File.Exists(f)) File.Delete(f);
            return new TrainingReport(initial, history, stoppedEarly, best, _options.Output, f16,
                new FileInfo(_options.Output).Length, new FileInfo(f16).Length, vocab.Tokens.Count,
                train.Average(e => e.Tokens.Length - e.AnswerStart), train.Average(e => e.AnswerStart), model.ParameterCount, resumed?.Epoch ?? 0);
        }
        finally
        {
            StepState.Current = null;
            handle.Free();
        }
    }

    /// <summary>One example: prompt then answer tokens; <see cref="AnswerStart"/> is the first answer token.</summary>
    internal sealed record Encoded(int[] Tokens, int AnswerStart);

    private List<Encoded> Encode(LlamaModel model, IReadOnlyList<CorpusExample> examples, int zh, int en)
    {
        var result = new List<Encoded>(examples.Count);
        foreach (var e in examples)
        {
            var prompt = new List<int> { CabinVocabulary.BosId };
            prompt.AddRange(model.Vocab.Tokenize(e.Text, addSpecial: false, parseSpecial: false));
            prompt.Add(e.Lang == LanguageDetector.English ? en : zh);
            var answerStart = prompt.Count;
            prompt.AddRange(model.Vocab.Tokenize(CabinPrompt.Answer(_catalog, e.Action, e.Parameters), addSpecial: false, parseSpecial: false));
            prompt.Add(CabinVocabulary.EosId);
            result.Add(new Encoded(prompt.ToArray(), answerStart));
        }
        return result;
    }

    private List<Encoded> SubsetForValidation(List<Encoded> valid)
    {
        if (valid.Count <= Recipe.ValidationExamples) return valid;
        var rng = new Random((int)Recipe.Seed);
        return valid.OrderBy(_ => rng.Next()).Take(Recipe.ValidationExamples).ToList();
    }

    /// <summary>A packed window: its tokens and, per position, the token to predict there or -1 (not an answer token).</summary>
    internal sealed record Window(int[] Tokens, int[] Targets);

    /// <summary>Examples in a seeded order per epoch, packed whole into windows; the tail of a window is padding (EOS, no target).</summary>
    private List<Window> Pack(IReadOnlyList<Encoded> examples, int epoch)
    {
        var rng = new Random(unchecked((int)Recipe.Seed * 7919 + epoch));
        var order = Enumerable.Range(0, examples.Count).OrderBy(_ => rng.Next()).ToArray();
        var windows = new List<Window>();
        var tokens = new List<int>(Recipe.Context);
        var targets = new List<int>(Recipe.Context);
        void Flush()
        {
            if (tokens.Count == 0) return;
            while (tokens.Count < Recipe.Context)
            {
                tokens.Add(CabinVocabulary.EosId);
                targets.Add(-1);
            }
            windows.Add(new Window(tokens.ToArray(), targets.ToArray()));
            tokens.Clear();
            targets.Clear();
        }
        foreach (var i in order)
        {
            var e = examples[i];
            if (tokens.Count + e.Tokens.Length > Recipe.Context) Flush();
            for (var k = 0; k < e.Tokens.Length; k++)
            {
                tokens.Add(e.Tokens[k]);
                // Position k predicts token k+1: a target only where that token belongs to the answer (or is its EOS).
                targets.Add(k + 1 < e.Tokens.Length && k + 1 >= e.AnswerStart ? e.Tokens[k + 1] : -1);
            }
        }
        Flush();
        return windows;
    }

    private double RunEpoch(LlamaContext context, StepState state, List<Window> windows, int epoch)
    {
        var dataset = NewDataset(windows);
        var result = TrainingApi.ggml_opt_result_init();
        try
        {
            state.BeginEpoch(windows, epoch);
            TrainingApi.llama_opt_epoch(context.DangerousPointer, dataset, result, IntPtr.Zero, windows.Count, &OnTrainBatch, null);
            if (state.Error is { } error) throw new LlamaException("training step failed: " + error);
            double loss, unc;
            TrainingApi.ggml_opt_result_loss(result, &loss, &unc);
            return loss;
        }
        finally
        {
            TrainingApi.ggml_opt_result_free(result);
            TrainingApi.ggml_opt_dataset_free(dataset);
        }
    }

    private IntPtr NewDataset(List<Window> windows)
    {
        var ctx = Recipe.Context;
        var dataset = TrainingApi.ggml_opt_dataset_init(TrainingApi.GgmlTypeI32, TrainingApi.GgmlTypeI32, ctx, ctx, windows.Count, 1);
        if (dataset == IntPtr.Zero) throw new LlamaException("ggml_opt_dataset_init failed");
        var data = (int*)TrainingApi.ggml_get_data(TrainingApi.ggml_opt_dataset_data(dataset));
        var labels = (int*)TrainingApi.ggml_get_data(TrainingApi.ggml_opt_dataset_labels(dataset));
        for (var w = 0; w < windows.Count; w++)
        {
            var window = windows[w];
            for (var i = 0; i < ctx; i++)
            {
                data[(long)w * ctx + i] = window.Tokens[i];
                // llama.cpp's own one-hot labels; the step callback replaces them (see StepState.SetLabels).
                labels[(long)w * ctx + i] = i + 1 < ctx ? window.Tokens[i + 1] : CabinVocabulary.EosId;
            }
        }
        return dataset;
    }

    /// <summary>
    /// Runs one forward-only pass so llama.cpp hands its optimizer context to a callback: the step callback needs it
    /// (gradient reset, labels) from the very first step, and llama.cpp exposes it no other way.
    /// </summary>
    private void CaptureOptimizer(LlamaContext context, StepState state, List<Window> windows)
    {
        var dataset = NewDataset(windows.Take(1).ToList());
        try
        {
            state.Capturing = true;
            TrainingApi.llama_opt_epoch(context.DangerousPointer, dataset, IntPtr.Zero, IntPtr.Zero, 0, null, &OnCapture);
        }
        finally
        {
            state.Capturing = false;
            TrainingApi.ggml_opt_dataset_free(dataset);
        }
        if (state.Optimizer == IntPtr.Zero) throw new LlamaException("llama.cpp did not expose its optimizer context");
    }

    /// <summary>Mean negative log-likelihood per answer token (teacher-forced), over the validation examples.</summary>
    private static double ValidationLoss(LlamaContext context, IReadOnlyList<Encoded> examples)
    {
        double sum = 0;
        long count = 0;
        var ctx = context.DangerousPointer;
        var batch = NativeApi.llama_batch_init(context.BatchSize, 0, 1);
        try
        {
            foreach (var e in examples)
            {
                NativeApi.llama_memory_clear(NativeApi.llama_get_memory(ctx), true);
                var n = Math.Min(e.Tokens.Length, context.BatchSize);
                for (var i = 0; i < n; i++)
                {
                    batch.token[i] = e.Tokens[i];
                    batch.pos[i] = i;
                    batch.n_seq_id[i] = 1;
                    batch.seq_id[i][0] = 0;
                    batch.logits[i] = (sbyte)(i + 1 >= e.AnswerStart && i + 1 < n ? 1 : 0);
                }
                batch.n_tokens = n;
                if (NativeApi.llama_decode(ctx, batch) != 0) throw new LlamaException("validation decode failed");
                var vocab = context.VocabSize;
                for (var i = e.AnswerStart - 1; i + 1 < n; i++)
                {
                    var logits = new ReadOnlySpan<float>(NativeApi.llama_get_logits_ith(ctx, i), vocab);
                    var max = float.NegativeInfinity;
                    foreach (var l in logits) max = Math.Max(max, l);
                    double z = 0;
                    foreach (var l in logits) z += Math.Exp(l - max);
                    sum += Math.Log(z) + max - logits[e.Tokens[i + 1]];
                    count++;
                }
            }
        }
        finally
        {
            NativeApi.llama_batch_free(batch);
        }
        return count == 0 ? double.NaN : sum / count;
    }

    private static LlamaModel LoadForTraining(string path)
    {
        var p = NativeApi.llama_model_default_params();
        p.load_mode = 0;           // LLAMA_LOAD_MODE_NONE: weights in writable memory (an mmap is read-only)
        p.use_extra_bufts = false; // no repacked weight buffers: the optimizer updates the plain F32 tensors
        IntPtr model;
        fixed (byte* file = Utf8.NulTerminated(Path.GetFullPath(path)))
            model = NativeApi.llama_model_load_from_file(file, p);
        if (model == IntPtr.Zero) throw new LlamaException($"llama.cpp could not load the model to train ({path}): {LlamaLibrary.TakeLastError()}");
        return LlamaModel.FromOwned(model, path);
    }

    private static void Save(LlamaModel model, string path, CabinModelStamp stamp)
    {
        var raw = path + ".raw.tmp";
        try
        {
            model.SaveToFile(raw);
            CabinModelWriter.Stamp(raw, path + ".tmp", stamp);
            File.Move(path + ".tmp", path, overwrite: true);
        }
        finally
        {
            if (File.Exists(raw)) File.Delete(raw);
        }
    }

    private static int SingleToken(LlamaModel model, string special)
    {
        var tokens = model.Vocab.Tokenize(special, addSpecial: false, parseSpecial: true);
        return tokens.Length == 1 ? tokens[0] : throw new LlamaException($"vocabulary has no single token {special}");
    }

    // ---- callbacks from llama.cpp (never let an exception cross into native code) ----

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static bool TrainedParameters(IntPtr tensor, void* userData)
    {
        try
        {
            var state = (StepState)GCHandle.FromIntPtr((IntPtr)userData).Target!;
            return TrainedTensors.IsTrained(Utf8.FromNative(TrainingApi.ggml_get_name(tensor)), state.Layers);
        }
        catch
        {
            return false;
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static TrainingApi.ggml_opt_optimizer_params OnOptimizerParams(void* userData)
    {
        var state = (StepState)GCHandle.FromIntPtr((IntPtr)userData).Target!;
        return state.BeforeStep();
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnCapture(bool train, IntPtr optCtx, IntPtr dataset, IntPtr result, long ibatch, long ibatchMax, long tStartUs)
    {
        StepState.Current?.Capture(optCtx);
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnTrainBatch(bool train, IntPtr optCtx, IntPtr dataset, IntPtr result, long ibatch, long ibatchMax, long tStartUs)
    {
        StepState.Current?.AfterStep(result, ibatch, ibatchMax);
    }
}
