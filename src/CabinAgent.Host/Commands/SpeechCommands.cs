using System.CommandLine;
using System.Globalization;
using CabinAgent.Tools;
using CabinAgent.Tools.Bench;
using CabinAgent.Tools.Models;
using Microsoft.Extensions.Logging;

namespace CabinAgent.Host.Commands;

/// <summary>
/// Speech verbs: <c>bench asr</c> and <c>models make-test-whisper</c>. The logic lives in
/// CabinAgent.Tools; this file only maps the command line onto it.
/// </summary>
public static class SpeechCommands
{
    /// <summary><c>cabin-agent bench asr [--model FILE] [--json]</c></summary>
    public static Command Bench()
    {
        var model = new Option<string?>("--model") { Description = "whisper ggml model file (default: the generated random-weight test model; speed only)" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object" };
        var reps = new Option<int>("--repetitions", "-r") { Description = "Timed runs per length and thread count", DefaultValueFactory = _ => 3 };
        var language = new Option<string>("--language") { Description = "zh, en or auto", DefaultValueFactory = _ => "auto" };
        var command = new Command("asr", "whisper latency and real-time factor for 1-5 s utterances at 1, 2 and all threads")
        {
            model, json, reps, language,
        };
        command.SetAction((parse, ct) => RunBenchAsync(parse.GetValue(model), parse.GetValue(json), parse.GetValue(reps), parse.GetValue(language)!, ct));
        return command;
    }

    /// <summary><c>cabin-agent models make-test-whisper OUT.bin</c></summary>
    public static IEnumerable<Command> Models()
    {
        var output = new Argument<string>("out") { Description = "Where to write the model (.bin)" };
        var seed = new Option<int>("--seed") { Description = "Random seed of the weights", DefaultValueFactory = _ => WhisperTestModel.Seed };
        var command = new Command("make-test-whisper",
            "Write a tiny random-weight whisper model (legacy ggml .bin, real multilingual vocabulary size) for tests and benchmarks; it transcribes noise")
        {
            output, seed,
        };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(output)!;
            try
            {
                WhisperTestModel.Write(path, seed: parse.GetValue(seed));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"models make-test-whisper: cannot write {path}: {e.Message}");
                return 1;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{path}: {new FileInfo(path).Length / 1e6:F1} MB random-weight whisper test model"));
            return 0;
        });
        yield return command;
    }

    private static async Task<int> RunBenchAsync(string? model, bool json, int repetitions, string language, CancellationToken ct)
    {
        if (repetitions < 1)
        {
            await Console.Error.WriteLineAsync("bench asr: --repetitions must be at least 1");
            return 2;
        }
        if (!CabinAgent.Speech.SpeechOptions.Languages.Contains(language))
        {
            await Console.Error.WriteLineAsync($"bench asr: --language must be zh, en or auto, not '{language}'");
            return 2;
        }
        if (model is not null && !File.Exists(model))
        {
            await Console.Error.WriteLineAsync($"bench asr: model file '{model}' does not exist");
            return 2;
        }
        using var loggerFactory = LoggerFactory.Create(b => b
            .AddSimpleConsole(o => o.SingleLine = true)
            .AddFilter((_, level) => level >= LogLevel.Warning));
        var settings = new AsrBenchmarkSettings
        {
            ModelPath = model,
            Language = language,
            Repetitions = repetitions,
            SpeechFiles = FindSampleAudio(),
        };
        var result = await AsrBenchmark.RunAsync(settings, loggerFactory.CreateLogger("bench"),
            json ? null : line => Console.WriteLine("  " + line), ct);
        if (json)
        {
            Console.WriteLine(result.ToJsonString());
            return 0;
        }
        Console.WriteLine($"whisper.cpp {result["whisper"]} on {Environment.ProcessorCount} cores, load average {result["load_average"]} ({result["system_info"]})");
        Console.WriteLine($"model: {result["model"]}{((bool)result["test_model"]! ? " (random-weight test model: speed only, the text is noise)" : "")}");
        Console.WriteLine($"speech: {result["speech"]}; {repetitions} timed runs each; whisper pads every utterance to its 30 s window, so latency barely depends on length");
        return 0;
    }

    /// <summary>The committed sample utterances (samples/audio/*.wav), found from a checkout or next to the binary.</summary>
    private static List<string> FindSampleAudio() =>
        RepoFiles.Find(Path.Combine("samples", "audio")) is { } folder && Directory.Exists(folder)
            ? Directory.GetFiles(folder, "*.wav").Order(StringComparer.Ordinal).ToList()
            : [];
}
