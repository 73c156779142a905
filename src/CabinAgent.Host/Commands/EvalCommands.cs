using System.CommandLine;
using System.Diagnostics;
using CabinAgent.Actions;
using CabinAgent.Evaluation;
using CabinAgent.Host.Composition;
using CabinAgent.Messaging;
using CabinAgent.Pipeline;
using CabinAgent.Safety;
using CabinAgent.Understanding;
using CabinAgent.Tools;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CabinAgent.Host.Commands;

/// <summary>
/// <c>cabin-agent eval</c>: the seed documents' cockpit metrics over an evaluation set, through the daemon's pipeline;
/// <c>cabin-agent dataset</c>: validate evaluation sets and export fine-tuning data. Logic lives in CabinAgent.Evaluation.
/// </summary>
public static class EvalCommands
{
    public const int ExitTargetsMissed = 1;

    public static Command Eval()
    {
        var dataset = new Argument<string>("dataset") { Description = "Evaluation set (JSONL), e.g. eval/test.jsonl" };
        var model = new Option<string?>("--model") { Description = "GGUF model for the LLM tier" };
        var compare = new Option<string[]>("--compare")
        {
            Description = "Several GGUF files side by side (the first is the baseline): accuracy drop, speed-up, memory",
            AllowMultipleArgumentsPerToken = true,
        };
        var lora = CliSupport.LoraOption();
        var report = new Option<string?>("--report") { Description = "Write the full JSON report (every failed case) here" };
        var lang = new Option<string?>("--lang") { Description = "Only the cases in this language" };
        lang.AcceptOnlyFromAmong("zh", "en");
        var reportLang = new Option<string>("--report-lang") { Description = "Language of the printed report", DefaultValueFactory = _ => "zh" };
        reportLang.AcceptOnlyFromAmong("zh", "en");
        var tier = new Option<string>("--tier") { Description = "Which tiers may understand", DefaultValueFactory = _ => "auto" };
        tier.AcceptOnlyFromAmong("auto", "deterministic", "llm");
        var dryRun = new Option<bool>("--dry-run") { Description = "Publish nothing (default: a loopback broker, as in the car)" };
        var check = new Option<bool>("--check") { Description = "Exit 1 when a target is missed" };
        var config = new Option<string?>("--config") { Description = "Extra configuration JSON file" };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Information-level logs on stderr" };

        var command = new Command("eval", "Cockpit metrics (intent, execution, JSON format, safety, response time) over an evaluation set")
        {
            dataset, model, compare, lora, report, lang, reportLang, tier, dryRun, check, config, verbose,
        };
        command.SetAction((parse, ct) => RunEvalAsync(new EvalRequest(
            parse.GetValue(dataset)!, parse.GetValue(model), parse.GetValue(compare) ?? [], parse.GetValue(lora) ?? [], parse.GetValue(report),
            parse.GetValue(lang), parse.GetValue(reportLang)!, parse.GetValue(tier)!, parse.GetValue(dryRun),
            parse.GetValue(check), parse.GetValue(config), parse.GetValue(verbose)), ct));
        return command;
    }

    public static Command Dataset()
    {
        var command = new Command("dataset", "Evaluation sets: validate them, export fine-tuning data from them; synthesize the training corpus");
        command.Subcommands.Add(Validate());
        command.Subcommands.Add(Export());
        command.Subcommands.Add(DatasetCommands.Synth());
        return command;
    }

    private static Command Validate()
    {
        var files = new Argument<string[]>("files") { Description = "Evaluation sets (JSONL)", Arity = ArgumentArity.OneOrMore };
        var config = new Option<string?>("--config") { Description = "Extra configuration JSON file" };
        var command = new Command("validate", "Check evaluation sets against the action catalog and the case format; print shares") { files, config };
        command.SetAction(parse => RunValidate(parse.GetValue(files)!, parse.GetValue(config)));
        return command;
    }

    private static Command Export()
    {
        var outDir = new Argument<string>("out-dir") { Description = "Folder for train.json, validation.json, test.json, manifest.json" };
        var format = new Option<string>("--format") { Description = "Record format", DefaultValueFactory = _ => "alpaca" };
        format.AcceptOnlyFromAmong("alpaca");
        var from = new Option<string[]>("--from")
        {
            Description = "Evaluation sets to export (default: eval/dev.jsonl; the test split stays held out)",
            AllowMultipleArgumentsPerToken = true,
        };
        var allowTest = new Option<bool>("--allow-test") { Description = "Allow exporting eval/test.jsonl (its scores then mean nothing)" };
        var seed = new Option<int>("--seed") { Description = "Shuffle seed for the 80/10/10 split", DefaultValueFactory = _ => AlpacaExport.DefaultSeed };
        var config = new Option<string?>("--config") { Description = "Extra configuration JSON file" };
        var command = new Command("export", "Instruction-tuning records (output = the command JSON), split train/validation/test 80/10/10")
        {
            outDir, format, from, allowTest, seed, config,
        };
        command.SetAction(parse => RunExport(parse.GetValue(outDir)!, parse.GetValue(from) ?? [], parse.GetValue(allowTest),
            parse.GetValue(seed), parse.GetValue(config)));
        return command;
    }

    private sealed record EvalRequest(string Dataset, string? Model, string[] Compare, string[] Lora, string? ReportPath, string? Lang,
        string ReportLang, string Tier, bool DryRun, bool Check, string? ConfigFile, bool Verbose);

    private static async Task<int> RunEvalAsync(EvalRequest request, CancellationToken ct)
    {
        if (request.Model is not null && request.Compare.Length > 0)
        {
            await Console.Error.WriteLineAsync("eval: give either --model or --compare, not both");
            return CliSupport.ExitUsage;
        }
        if (request.Lora.Length > 0 && request.Model is null && request.Compare.Length == 0)
        {
            await Console.Error.WriteLineAsync("eval: --lora needs a model (--model or --compare)");
            return CliSupport.ExitUsage;
        }
        if (request.Compare.Length == 1)
        {
            await Console.Error.WriteLineAsync("eval: --compare needs at least two model files");
            return CliSupport.ExitUsage;
        }
        if (EmergencySet.IsEmergencySet(request.Dataset))
            return await RunEmergencyEvalAsync(request);
        IReadOnlyList<EvalCase> cases;
        try
        {
            cases = EvalRunner.Filter(EvalDataset.Load(request.Dataset), request.Lang);
        }
        catch (DatasetException ex)
        {
            await Console.Error.WriteLineAsync($"eval: {ex.Message}");
            return CliSupport.ExitUsage;
        }
        if (cases.Count == 0)
        {
            await Console.Error.WriteLineAsync($"eval: no cases in {request.Dataset} for lang={request.Lang}");
            return CliSupport.ExitUsage;
        }

        var models = request.Compare.Length > 0 ? request.Compare.Select(m => (string?)m).ToList() : [request.Model];
        var runs = new List<ModelRun>();
        foreach (var modelPath in models)
        {
            var (exit, run) = await EvaluateOneAsync(request, cases, modelPath, ct);
            if (run is null)
                return exit;
            runs.Add(run);
        }

        var final = runs[0].Report;
        if (runs.Count > 1)
            final = final with { Comparison = ModelComparisonTable.Build(runs) };
        Console.Write(Evaluation.ReportRenderer.Render(final, request.ReportLang));
        if (request.ReportPath is not null)
        {
            ReportJson.Write(final, request.ReportPath);
            await Console.Error.WriteLineAsync($"eval: full report written to {request.ReportPath}");
        }
        var missed = final.Targets.Any(t => t.Pass == false);
        return request.Check && missed ? ExitTargetsMissed : CliSupport.ExitOk;
    }

    /// <summary>
    /// An emergency set (<c>eval/emergency-*.jsonl</c>): the safety layer's emergency judgement alone, no tiers, no
    /// model, no broker: recall and false calls, zh and en apart, with every missed and false sentence.
    /// </summary>
    private static async Task<int> RunEmergencyEvalAsync(EvalRequest request)
    {
        EmergencyReport report;
        try
        {
            var cases = EmergencySet.Load(request.Dataset).Where(c => request.Lang is null || c.Lang == request.Lang).ToList();
            var detector = EmergencyDetector.LoadConfig(SafetyCommands.FindConfigDirectory());
            report = EmergencyEvaluator.Run(Path.GetFileName(request.Dataset), cases, detector);
        }
        catch (Exception ex) when (ex is DatasetException or SafetyConfigException or IOException)
        {
            await Console.Error.WriteLineAsync($"eval: {ex.Message}");
            return CliSupport.ExitUsage;
        }
        Console.Write(EmergencyReportRenderer.Render(report));
        if (request.ReportPath is not null)
        {
            await File.WriteAllTextAsync(request.ReportPath, EmergencyReportRenderer.ToJson(report).ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
            await Console.Error.WriteLineAsync($"eval: full report written to {request.ReportPath}");
        }
        return request.Check && !report.TargetsMet ? ExitTargetsMissed : CliSupport.ExitOk;
    }

    /// <summary>One model (or none: the deterministic path) over every case, in a composition of its own.</summary>
    private static async Task<(int Exit, ModelRun? Run)> EvaluateOneAsync(EvalRequest request, IReadOnlyList<EvalCase> cases,
        string? modelPath, CancellationToken ct)
    {
        GgufInfo? gguf = null;
        if (modelPath is not null)
        {
            try
            {
                gguf = GgufInfo.Read(modelPath);
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync($"eval: {ex.Message}");
                return (CliSupport.ExitUsage, null);
            }
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        var memoryBefore = Environment.WorkingSet;
        await using var broker = request.DryRun ? null : await EmbeddedBroker.StartAsync();
        // The eval keeps its own outbox (it must not send, or be sent, a daemon's queued commands) and waits for no ECU
        // acknowledgement: no ECU is on the loopback broker, and the metrics are about the agent's decision.
        var outbox = Path.Combine(Path.GetTempPath(), $"cabin-eval-outbox-{Environment.ProcessId}-{Guid.NewGuid():N}.jsonl");
        var overrides = new Dictionary<string, string?>
        {
            ["Agent:Tiers"] = request.Tier, ["Mqtt:OutboxPath"] = outbox, ["Mqtt:AckTimeoutMs"] = "0",
        };
        if (broker is not null) overrides["Mqtt:Broker"] = broker.Url;
        if (modelPath is not null)
        {
            overrides["Llm:ModelPath"] = Path.GetFullPath(modelPath);
            overrides["Llm:Required"] = "true";
            CliSupport.AddLoraOverrides(request.Lora, overrides);
        }

        await using var services = CliSupport.BuildAgent(AgentComposition.BuildConfiguration(request.ConfigFile, overrides), request.Verbose,
            s => { if (request.DryRun) s.UseDryRunOutput(); });
        if (!CliSupport.TryStart(services, Console.Error))
            return (CliSupport.ExitUsage, null);

        var runtime = services.GetRequiredService<AgentRuntime>();
        var catalog = runtime.Catalog;
        var problems = new DatasetValidator(catalog).Validate(cases);
        if (problems.Count > 0)
        {
            foreach (var problem in problems.Take(50))
                await Console.Error.WriteLineAsync($"eval: dataset: {problem}");
            await Console.Error.WriteLineAsync($"eval: {problems.Count} problems in {request.Dataset}; fix them first (cabin-agent dataset validate)");
            return (CliSupport.ExitUsage, null);
        }

        await runtime.StartAsync(broker is null ? AgentLanes.None : AgentLanes.Broker, ct);
        var pipeline = runtime.Pipeline;
        // A safety layer per case (see ICaseSafety) from the agent's own safety options, and around it the pipeline
        // the composition root builds for the daemon: the same tiers, catalog, schema, options and output.
        var layers = services.GetRequiredService<SafetyLayerFactory>();
        var safety = new SafetyLayerCaseFactory(outbox => layers.Create(outbox, TimeProvider.System));
        var executor = new PipelineCaseExecutor(safety, services.GetRequiredService<Func<ISafetyLayer, UtterancePipeline>>());

        var label = modelPath is null ? "eval" : Path.GetFileName(modelPath);
        var scores = await ConsoleProgress.RunAsync(cases.Count, label,
            progress => EvalRunner.RunAsync(cases, executor, (done, _) => progress(done), ct));

        var tierNames = new List<string> { "safety pre-check" };
        tierNames.AddRange(pipeline.Tiers.Select(t => t.Name.Wire()));
        if (pipeline.Tiers.Count == 0) tierNames.Add("(no understanding tier registered)");
        var model = new ModelInfo(tierNames, gguf?.Path, gguf?.SizeBytes, gguf?.Quantization, gguf?.RandomWeights ?? false,
            Description: $"safety layer: {safety.Description}" + (gguf?.Name is { } name ? $"; model: {name}" : "")
                         + LoraDescription(pipeline.Tiers));
        var dataset = new DatasetInfo(request.Dataset, EvalDataset.SplitName(request.Dataset), cases.Count, request.Lang);
        var report = EvalMetrics.Compute(scores, dataset, model);
        var memory = Environment.WorkingSet - memoryBefore;
        await runtime.StopAsync(drainOutbox: false, ct);
        File.Delete(outbox);
        return (CliSupport.ExitOk, new ModelRun(modelPath is null ? "(no model)" : Path.GetFileName(modelPath), gguf?.SizeBytes, report,
            memory > 0 ? memory : null));
    }

    private static string LoraDescription(IEnumerable<IUnderstandingTier> tiers)
    {
        var llm = tiers.OfType<Llm.LlmTier>().FirstOrDefault();
        return llm is null || llm.LoraAdapters.Count == 0 ? "" : "; LoRA: " + string.Join(", ", llm.LoraLabels);
    }

    private static int RunValidate(string[] files, string? configFile)
    {
        using var services = CliSupport.BuildAgent(AgentComposition.BuildConfiguration(configFile), verbose: false);
        ActionCatalog catalog;
        try
        {
            catalog = services.GetRequiredService<ActionCatalog>();
        }
        catch (CatalogException ex)
        {
            Console.Error.WriteLine($"dataset: {ex.Message}");
            return CliSupport.ExitUsage;
        }
        var all = new List<EvalCase>();
        foreach (var file in files)
        {
            try
            {
                all.AddRange(EvalDataset.Load(file));
            }
            catch (DatasetException ex)
            {
                Console.Error.WriteLine($"dataset: {ex.Message}");
                return CliSupport.ExitUsage;
            }
        }
        var problems = new DatasetValidator(catalog).Validate(all);
        foreach (var problem in problems)
            Console.WriteLine(problem);
        Console.WriteLine($"{all.Count} cases in {files.Length} file(s), {problems.Count} problem(s)");
        foreach (var group in all.GroupBy(c => c.Category).OrderBy(g => g.Key, StringComparer.Ordinal))
            Console.WriteLine(FormattableString.Invariant($"  {group.Key,-16} {group.Count(),5}  {100.0 * group.Count() / all.Count,5:0.0}%"));
        foreach (var group in all.GroupBy(c => c.Lang).OrderBy(g => g.Key, StringComparer.Ordinal))
            Console.WriteLine(FormattableString.Invariant($"  lang {group.Key,-11} {group.Count(),5}  {100.0 * group.Count() / all.Count,5:0.0}%"));
        return problems.Count == 0 ? CliSupport.ExitOk : ExitTargetsMissed;
    }

    private static int RunExport(string outDir, string[] from, bool allowTest, int seed, string? configFile)
    {
        var sources = from.Length > 0 ? from : [RepoFiles.Find(Path.Combine("eval", "dev.jsonl")) ?? Path.Combine("eval", "dev.jsonl")];
        foreach (var source in sources)
        {
            if (AlpacaExport.IsHeldOut(source) && !allowTest)
            {
                Console.Error.WriteLine($"dataset: {source} is the held-out test split; exporting it for training would void its scores (--allow-test to do it anyway)");
                return CliSupport.ExitUsage;
            }
        }
        using var services = CliSupport.BuildAgent(AgentComposition.BuildConfiguration(configFile), verbose: false);
        try
        {
            var catalog = services.GetRequiredService<ActionCatalog>();
            var cases = sources.SelectMany(EvalDataset.Load).ToList();
            var problems = new DatasetValidator(catalog).Validate(cases);
            if (problems.Count > 0)
            {
                foreach (var problem in problems.Take(50))
                    Console.Error.WriteLine($"dataset: {problem}");
                return CliSupport.ExitUsage;
            }
            var records = AlpacaExport.Records(cases, catalog, out var skipped);
            var split = AlpacaExport.Split(records, skipped, seed);
            AlpacaExport.Write(split, outDir, sources, seed);
            Console.WriteLine($"alpaca: {split.Train.Count} train, {split.Validation.Count} validation, {split.Test.Count} test records in {outDir} " +
                              $"({skipped} cases without an action skipped; seed {seed})");
            return CliSupport.ExitOk;
        }
        catch (Exception ex) when (ex is DatasetException or CatalogException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"dataset: {ex.Message}");
            return CliSupport.ExitUsage;
        }
    }
}
