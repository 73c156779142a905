using System.CommandLine;
using System.Diagnostics;
using CabinAgent.Actions;
using CabinAgent.Corpus;

namespace CabinAgent.Host.Commands;

/// <summary>
/// <c>cabin-agent dataset synth</c>: the generated training corpus (CabinAgent.Corpus) for the cabin model.
/// A subcommand of the <c>dataset</c> group in EvalCommands.
/// </summary>
internal static class DatasetCommands
{
    public static Command Synth()
    {
        var outDir = new Option<string>("--out") { Description = "Folder for train.jsonl, valid.jsonl and manifest.json", Required = true };
        var size = new Option<int?>("--size") { Description = "Examples to generate (default: data/corpus/recipe.json, ~60,000)" };
        var seed = new Option<int?>("--seed") { Description = "Seed; the same seed and inputs give byte-identical files (default: recipe.json)" };
        var data = new Option<string?>("--data") { Description = "The checkout holding data/corpus, data/gazetteers and eval/ (default: found from the current folder)" };
        var catalog = new Option<string?>("--catalog") { Description = "Catalog file (default: config/actions.json of the checkout)" };
        var command = new Command("synth", "Generate the training corpus: utterance → command pairs for every catalog action, zh and en")
        {
            outDir, size, seed, data, catalog,
        };
        command.SetAction((parse, ct) => RunSynthAsync(parse.GetValue(outDir)!, parse.GetValue(size), parse.GetValue(seed),
            parse.GetValue(data), parse.GetValue(catalog), ct));
        return command;
    }

    private static async Task<int> RunSynthAsync(string outDir, int? size, int? seed, string? data, string? catalogPath, CancellationToken ct)
    {
        var root = data ?? FindCheckout(Directory.GetCurrentDirectory()) ?? FindCheckout(AppContext.BaseDirectory);
        if (root is null)
        {
            Console.Error.WriteLine("dataset synth: no data/corpus/recipe.json above the current folder; run it from the checkout or pass --data");
            return CliSupport.ExitUsage;
        }
        if (size is < 1)
        {
            Console.Error.WriteLine($"dataset synth: --size must be at least 1 (got {size})");
            return CliSupport.ExitUsage;
        }
        var clock = Stopwatch.StartNew();
        try
        {
            var inputs = CorpusInputs.Load(root, catalogPath ?? Path.Combine(root, "config", "actions.json"));
            var build = new CorpusGenerator(inputs).Generate(size ?? inputs.Recipe.DefaultSize, seed ?? inputs.Recipe.DefaultSeed);
            await CorpusWriter.WriteAsync(outDir, build, ct);
            var m = build.Manifest;
            Console.Error.WriteLine(
                $"dataset synth: {build.Train.Count} train + {build.Valid.Count} valid examples in {outDir} " +
                $"({clock.Elapsed.TotalSeconds:F1} s, seed {m["seed"]}, recipe {m["recipe_hash"]!.GetValue<string>()[..12]}…, " +
                $"{m["held_out"]!["collisions_dropped"]} held-out collisions dropped, {m["shortfalls"]!.AsObject().Count} short streams)");
            return CliSupport.ExitOk;
        }
        catch (Exception ex) when (ex is CorpusInputException or CatalogException or CorpusGenerationException)
        {
            Console.Error.WriteLine($"dataset synth: {ex.Message}");
            return CliSupport.ExitUsage;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"dataset synth: {ex.Message} (writing to {outDir})");
            return CliSupport.ExitUsage;
        }
    }

    private static string? FindCheckout(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "data", "corpus", "recipe.json")))
                return dir.FullName;
        return null;
    }
}
