using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using CabinAgent.Actions;
using CabinAgent.Llm;
using CabinAgent.Llm.Decoding;
using CabinAgent.Llm.Native;
using CabinAgent.Llm.Prompting;
using CabinAgent.Pipeline;
using CabinAgent.Understanding;
using Microsoft.Extensions.Logging;

namespace CabinAgent.Tools.Bench;

/// <summary>
/// <c>cabin-agent bench llm</c>: figures measured in one run on this machine, never asserted in tests.
/// Two parts, one after the other so only one copy of the model is in memory:
/// <list type="number">
/// <item>the engine, on a context of its own built from the same public parts the tier uses (model, system prompt
/// layout, command grammar, constrained decoder): prompt speed; decode speed through the binding against a minimal
/// direct loop over the C API (<see cref="LlamaContext.DecodeGreedyDirect"/>), runs interleaved so machine load hits
/// both alike; constrained vs unconstrained ms per generated token; per-utterance latency with the system prompt
/// evaluated from an empty cache each time;</item>
/// <item>the LLM tier as the daemon runs it (<see cref="LlmTier.UnderstandAsync"/>, cached system prompt): per-utterance
/// latency, schema-valid answers, and how long a cancel takes to stop a decode in flight.</item>
/// </list>
/// Percentiles and medians are nearest-rank (<see cref="Percentile"/>).
/// </summary>
public static class LlmBenchmark
{
    public static readonly string[] DefaultUtterances =
    [
        "播放周杰伦的夜曲", "导航到北京首都机场", "附近的充电桩", "空调调到22度", "温度调高两度", "打电话给妈妈", "还能跑多远",
        "打开主驾座椅加热二档", "play Yesterday by the Beatles", "find the nearest gas station", "set the volume to 40",
        "call John Smith", "open the rear left window 30 percent", "what's my range", "pause the music", "lock the doors",
    ];

    public sealed record Settings(string ModelPath, ActionCatalog Catalog, int Rounds = 3, int DecodeTokens = 48, int Threads = 0);

    public static JsonObject Run(Settings settings, ILogger logger, TextWriter progress)
    {
        var options = new LlmOptions
        {
            ModelPath = settings.ModelPath, ConfidenceFloor = 0, DecodeDeadlineMs = 60_000, Threads = settings.Threads,
        };
        var engine = MeasureEngine(settings, options, logger, progress);
        var tier = MeasureTier(options, settings, logger, progress);

        var binding = Rank(engine.BindingMs, 0.5);
        var direct = Rank(engine.DirectMs, 0.5);
        var bindingCpuBest = engine.BindingCpu.Min();
        var directCpuBest = engine.DirectCpu.Min();
        var constrainedPerToken = engine.Generation.Sum(g => g.ElapsedMs) / Math.Max(1, engine.Generation.Sum(g => g.GeneratedTokens));
        return new JsonObject
        {
            ["model"] = settings.ModelPath,
            ["architecture"] = engine.Architecture,
            ["parameters"] = engine.Parameters,
            ["ftype"] = engine.FileType,
            ["llama_cpp"] = LlamaLibrary.Version,
            ["threads"] = settings.Threads > 0 ? settings.Threads : Math.Max(1, Environment.ProcessorCount / 2),
            ["load_average_1m"] = Machine.LoadAverage1m(),
            ["system_prompt_tokens"] = engine.PrefixTokens,
            ["prompt_tokens_per_s"] = Round(engine.PrefixTokens / (Rank(engine.PromptMs, 0.5) / 1000)),
            ["decode_tokens_per_s"] = Round(1000 / binding),
            ["direct_decode_tokens_per_s"] = Round(1000 / direct),
            ["decode_cpu_ms_per_token_binding"] = Round(bindingCpuBest),
            ["decode_cpu_ms_per_token_direct"] = Round(directCpuBest),
            ["decode_ratio_binding_vs_direct"] = Math.Round(directCpuBest / bindingCpuBest, 3),
            ["decode_ratio_wall_median"] = Math.Round(direct / binding, 3),
            ["ms_per_token_unconstrained"] = Round(binding),
            ["ms_per_token_constrained"] = Round(constrainedPerToken),
            ["constrained_vs_unconstrained"] = Math.Round(constrainedPerToken / binding, 3),
            ["generated_tokens_sampled"] = engine.Generation.Sum(g => g.SampledTokens),
            ["generated_tokens_forced"] = engine.Generation.Sum(g => g.ForcedTokens),
            ["greedy_candidate_accepted"] = engine.Generation.Sum(g => g.GreedyAccepted),
            ["utterances"] = tier.CachedMs.Count,
            ["schema_valid"] = tier.SchemaValid,
            ["latency_ms_cached_prompt"] = new JsonObject { ["p50"] = Round(Rank(tier.CachedMs, 0.5)), ["p95"] = Round(Rank(tier.CachedMs, 0.95)) },
            ["latency_ms_uncached_prompt"] = new JsonObject { ["p50"] = Round(Rank(engine.UncachedMs, 0.5)), ["p95"] = Round(Rank(engine.UncachedMs, 0.95)) },
            ["abort_ms"] = new JsonObject { ["p50"] = Round(Rank(tier.AbortMs, 0.5)), ["max"] = Round(tier.AbortMs.Count > 0 ? tier.AbortMs.Max() : double.NaN), ["aborts"] = tier.AbortMs.Count },
        };
    }

    private sealed record EngineFigures(
        string Architecture, ulong Parameters, string FileType, int PrefixTokens, List<double> PromptMs,
        List<double> BindingMs, List<double> DirectMs, List<double> BindingCpu, List<double> DirectCpu,
        List<GenerationResult> Generation, List<double> UncachedMs);

    private sealed record TierFigures(List<double> CachedMs, int SchemaValid, List<double> AbortMs);

    private static EngineFigures MeasureEngine(Settings settings, LlmOptions options, ILogger logger, TextWriter progress)
    {
        LlamaLibrary.UseLibrary(options.NativeLibraryPath);
        LlamaLibrary.EnsureInitialized();
        LlamaLibrary.SetLogSink((level, line) => logger.Log(level == LlamaLogLevel.Error ? LogLevel.Error : LogLevel.Debug, "llama.cpp: {Line}", line));
        using var model = LlamaModel.Load(settings.ModelPath, new LlamaModelLoadOptions { GpuLayers = options.GpuLayers });
        using var ctx = model.CreateContext(new LlamaContextOptions { ContextLength = options.ContextLength, Threads = options.Threads });
        // The same prompt and grammar the tier uses: a cabin model's short prompt (NONE allowed), else the catalog's system prompt.
        var cabin = CabinModelInfo.Read(model);
        var layout = cabin is not null
            ? PromptLayout.ForCabinModel(model)
            : PromptLayout.Build(model, SystemPrompt.Build(settings.Catalog), options.ChatTemplate);
        var grammar = new CommandGrammar(settings.Catalog, allowNone: cabin is not null);
        using var decoder = new ConstrainedDecoder(ctx, new TokenTrie(model.Vocab.AllPieces), new SamplingOptions
        {
            Temperature = options.Temperature, TopK = options.TopK, TopP = options.TopP, Seed = options.Seed,
        });
        var prefix = layout.PrefixTokens;

        // 1. Prompt processing: the system prompt from an empty cache.
        progress.WriteLine("bench llm: prompt evaluation");
        var promptMs = new List<double>();
        for (var r = 0; r < settings.Rounds; r++)
        {
            ctx.ClearMemory();
            var sw = Stopwatch.StartNew();
            ctx.Decode(prefix, 0);
            promptMs.Add(sw.Elapsed.TotalMilliseconds);
        }

        // 2. Plain greedy decode: through the binding vs a minimal direct C-API loop, interleaved.
        progress.WriteLine("bench llm: decode, binding vs direct C API");
        // Both wall time and process CPU time are recorded: on a shared, oversubscribed machine the
        // wall clock mostly measures waiting for a core, CPU time measures the work. The ratio uses
        // CPU time and the best round of each (the least disturbed), rounds alternating A/B.
        var bindingMs = new List<double>();
        var directMs = new List<double>();
        var bindingCpu = new List<double>();
        var directCpu = new List<double>();
        using var process = Process.GetCurrentProcess();
        for (var r = 0; r < settings.Rounds * 4; r++)
        {
            // Back to the end of the system prompt, with its last token's logits fresh.
            ctx.TruncateSequence(prefix.Length - 1);
            ctx.Decode(prefix[^1..], prefix.Length - 1);
            process.Refresh();
            var cpu0 = process.TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            var isBinding = r % 2 == 0;
            var n = isBinding
                ? decoder.GenerateUnconstrained(prefix.Length, settings.DecodeTokens)
                : ctx.DecodeGreedyDirect(settings.DecodeTokens);
            var wall = sw.Elapsed.TotalMilliseconds / n;
            process.Refresh();
            var cpu = (process.TotalProcessorTime - cpu0).TotalMilliseconds / n;
            (isBinding ? bindingMs : directMs).Add(wall);
            (isBinding ? bindingCpu : directCpu).Add(cpu);
        }

        // 3. Constrained generation of every utterance after the cached system prompt (as the tier decodes), then the
        //    same with the system prompt re-evaluated from an empty cache first: what every utterance would cost without the cache.
        progress.WriteLine("bench llm: constrained generation (cached prompt, then uncached)");
        ctx.ClearMemory();
        ctx.Decode(prefix, 0);
        var generation = new List<GenerationResult>();
        Generate(DefaultUtterances[0], cached: true); // warm-up
        for (var r = 0; r < settings.Rounds; r++)
            foreach (var text in DefaultUtterances)
                generation.Add(Generate(text, cached: true));
        var uncachedMs = new List<double>();
        foreach (var text in DefaultUtterances)
        {
            var sw = Stopwatch.StartNew();
            Generate(text, cached: false);
            uncachedMs.Add(sw.Elapsed.TotalMilliseconds);
        }
        return new EngineFigures(model.Architecture, model.ParameterCount, model.FileTypeName, prefix.Length, promptMs,
            bindingMs, directMs, bindingCpu, directCpu, generation, uncachedMs);

        GenerationResult Generate(string text, bool cached)
        {
            if (cached)
            {
                ctx.TruncateSequence(prefix.Length);
            }
            else
            {
                ctx.ClearMemory();
                ctx.Decode(prefix, 0);
            }
            var input = PromptLayout.UtteranceTokens(model, text).Concat(layout.SuffixFor(WireName.Of(Languages.Of(text, Language.Zh)))).ToArray();
            ctx.Decode(input, prefix.Length);
            return decoder.Generate(grammar.Start(text), prefix.Length + input.Length, options.MaxOutputTokens);
        }
    }

    private static TierFigures MeasureTier(LlmOptions options, Settings settings, ILogger logger, TextWriter progress)
    {
        using var tier = LlmTier.Create(options, settings.Catalog, logger);

        // 4. Whole utterances through the tier, its system prompt cached.
        progress.WriteLine("bench llm: utterances through the tier");
        var cached = new List<double>();
        var valid = 0;
        Understand(tier, new Utterance("warm", DefaultUtterances[0], Languages.Of(DefaultUtterances[0], Language.Zh)), CancellationToken.None); // JIT, first-touch of the KV cache
        for (var r = 0; r < settings.Rounds; r++)
        {
            foreach (var text in DefaultUtterances)
            {
                var sw = Stopwatch.StartNew();
                var result = Understand(tier, new Utterance("b", text, Languages.Of(text, Language.Zh)), CancellationToken.None);
                cached.Add(sw.Elapsed.TotalMilliseconds);
                if (result.Details?["schema_valid"]?.GetValue<bool>() == true) valid++;
            }
        }

        // 5. Abort: how long an external cancel (the safety layer preempting) takes to stop a decode
        //    in flight, measured from the cancel to the tier's answer.
        progress.WriteLine("bench llm: abort latency");
        var abortMs = new List<double>();
        var longText = string.Concat(Enumerable.Repeat("导航到北京首都机场然后播放周杰伦的夜曲，", 45));
        for (var r = 0; r < settings.Rounds * 3; r++)
        {
            using var cts = new CancellationTokenSource();
            var pending = tier.UnderstandAsync(new Utterance("abort", longText, Language.Zh), cts.Token).AsTask();
            Thread.Sleep(30 + 10 * r);
            var sw = Stopwatch.StartNew();
            cts.Cancel();
            var answer = pending.GetAwaiter().GetResult();
            if (answer is TierFailed { Reason: "cancelled" })
                abortMs.Add(sw.Elapsed.TotalMilliseconds);
        }
        return new TierFigures(cached, valid, abortMs);
    }

    private static TierResult Understand(LlmTier tier, Utterance utterance, CancellationToken ct) =>
        tier.UnderstandAsync(utterance, ct).AsTask().GetAwaiter().GetResult();

    /// <summary>Nearest rank of measurements in the order taken: through the <see cref="IEnumerable{T}"/> overload,
    /// which sorts a copy (the <see cref="IReadOnlyList{T}"/> one expects sorted data, and a <see cref="List{T}"/> binds to it).</summary>
    private static double Rank(IEnumerable<double> values, double q) => Percentile.NearestRank(values, q);

    private static double Round(double v) => double.IsFinite(v) ? Math.Round(v, 2) : -1;

    public static string ToText(JsonObject r) => string.Join(Environment.NewLine, new[]
    {
        $"model                      {r["model"]} ({r["architecture"]}, {r["parameters"]} params, {r["ftype"]}), engine {r["llama_cpp"]}, {r["threads"]} thread(s), load {r["load_average_1m"]?.ToString() ?? "unknown"}",
        $"system prompt              {r["system_prompt_tokens"]} tokens, {r["prompt_tokens_per_s"]} tokens/s prompt processing",
        $"decode (binding)           {r["decode_tokens_per_s"]} tokens/s = {r["ms_per_token_unconstrained"]} ms/token",
        $"decode (direct C API)      {r["direct_decode_tokens_per_s"]} tokens/s (wall, median; ratio {r["decode_ratio_wall_median"]})",
        $"decode CPU time            binding {r["decode_cpu_ms_per_token_binding"]} ms/token, direct {r["decode_cpu_ms_per_token_direct"]} ms/token -> decode_ratio_binding_vs_direct {r["decode_ratio_binding_vs_direct"]} (target >= 0.95)",
        $"constrained                {r["ms_per_token_constrained"]} ms/token ({r["generated_tokens_sampled"]} sampled + {r["generated_tokens_forced"]} forced) -> {r["constrained_vs_unconstrained"]}x unconstrained (target <= 1.3)",
        $"per utterance, cached      p50 {r["latency_ms_cached_prompt"]!["p50"]} ms, p95 {r["latency_ms_cached_prompt"]!["p95"]} ms over {r["utterances"]} ({r["schema_valid"]} schema-valid; target p50 <= 292 ms)",
        $"per utterance, uncached    p50 {r["latency_ms_uncached_prompt"]!["p50"]} ms, p95 {r["latency_ms_uncached_prompt"]!["p95"]} ms",
        $"abort (cancel -> answer)   p50 {r["abort_ms"]!["p50"]} ms, max {r["abort_ms"]!["max"]} ms over {r["abort_ms"]!["aborts"]} aborts mid-decode (target <= 100 ms)",
    }.Select(s => s.ToString(CultureInfo.InvariantCulture)));
}
