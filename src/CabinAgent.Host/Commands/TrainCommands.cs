using System.CommandLine;
using System.Globalization;
using CabinAgent.Actions;
using CabinAgent.Host.Composition;
using CabinAgent.Llm.Native;
using CabinAgent.Training;
using CabinAgent.Training.Corpus;

namespace CabinAgent.Host.Commands;

/// <summary>
/// <c>models train</c>: the cabin model from a corpus (docs/llm.md, "The cabin model"). Progress on stderr, the
/// summary on stdout; exit 0 on success, 2 on bad usage, 1 on a bad corpus or an engine failure.
/// </summary>
public static class TrainCommands
{
    public static Command Train()
    {
        var corpus = new Option<string>("--corpus") { Description = "Corpus directory (train.jsonl, valid.jsonl[, manifest.json]) from `dataset synth`", Required = true };
        var output = new Option<string>("--out") { Description = "Output GGUF (Q4_K); the F16 model is written beside it as FILE.f16.gguf", Required = true };
        var preset = new Option<string>("--preset") { Description = "tiny (seconds, for tests) or default", DefaultValueFactory = _ => "default" };
        var threads = new Option<int>("--threads") { Description = "CPU threads", DefaultValueFactory = _ => 2 };
        var seed = new Option<uint>("--seed") { Description = "Seed of the initial weights and the example order", DefaultValueFactory = _ => 42 };
        var resume = new Option<bool>("--resume") { Description = "Continue from the checkpoint of an interrupted run (FILE.ckpt.gguf)" };
        var command = new Command("train", "Train the cabin model from scratch on this CPU (llama.cpp's training API), write Q4_K + F16 GGUF")
        {
            corpus, output, preset, threads, seed, resume,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            TrainingRecipe recipe;
            try
            {
                recipe = TrainingRecipe.ForPreset(parse.GetValue(preset)!) with { Seed = parse.GetValue(seed) };
            }
            catch (ArgumentException ex)
            {
                Console.Error.WriteLine($"models train: {ex.Message}");
                return Task.FromResult(CliSupport.ExitUsage);
            }
            if (parse.GetValue(threads) < 1)
            {
                Console.Error.WriteLine("models train: --threads must be at least 1");
                return Task.FromResult(CliSupport.ExitUsage);
            }
            try
            {
                var catalog = ActionCatalog.Load(new AgentOptions().ResolveConfigPath("actions.json"));
                var trainer = new CabinTrainer(new TrainOptions
                {
                    CorpusDirectory = parse.GetValue(corpus)!, Output = parse.GetValue(output)!, Recipe = recipe,
                    Threads = parse.GetValue(threads), Resume = parse.GetValue(resume),
                }, catalog, line => Console.Error.WriteLine(line));
                var report = trainer.Train(cancellationToken);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{report.Output}: Q4_K_M {report.OutputBytes / 1048576.0:F2} MiB; {report.F16Output}: F16 {report.F16Bytes / 1048576.0:F2} MiB; {report.Parameters:N0} parameters, vocabulary {report.VocabularySize:N0}; validation loss {report.InitialValidLoss:F4} -> {report.BestValidLoss:F4} in {report.Epochs.Count} epochs{(report.StoppedEarly ? " (stopped early)" : "")}"));
                return Task.FromResult(CliSupport.ExitOk);
            }
            catch (Exception ex) when (ex is CorpusException or LlamaException or CatalogException or IOException)
            {
                Console.Error.WriteLine($"error: {ex.Message}");
                return Task.FromResult(1);
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine("models train: interrupted; continue with --resume");
                return Task.FromResult(1);
            }
        });
        return command;
    }
}
