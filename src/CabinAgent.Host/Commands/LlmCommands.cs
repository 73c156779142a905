using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using CabinAgent.Actions;
using CabinAgent.Host.Composition;
using CabinAgent.Llm;
using CabinAgent.Llm.Models;
using CabinAgent.Llm.Native;
using CabinAgent.Training;
using CabinAgent.Tools.Bench;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CabinAgent.Host.Commands;

/// <summary>
/// The LLM tier's verbs: <c>bench llm</c>, and <c>models info | quantize | make-test-llm | select</c>.
/// Results go to stdout, progress and logs to stderr; exit 0 on success, 2 on bad input, 1 on failure.
/// </summary>
public static class LlmCommands
{
    private const int ExitFailed = 1;

    /// <summary>The <c>llm</c> subcommand of <c>bench</c>.</summary>
    public static Command Bench()
    {
        var model = new Option<string?>("--model") { Description = "GGUF model (default: the generated test model, built if missing)" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object" };
        var rounds = new Option<int>("--rounds") { Description = "Repetitions of each measurement", DefaultValueFactory = _ => 3 };
        var threads = new Option<int>("--threads") { Description = "CPU threads (0 = half the cores)", DefaultValueFactory = _ => 0 };
        var node = new Option<bool>("--node-llama-cpp")
        {
            Description = "Also run the same utterances through node-llama-cpp 3.22.1's JSON-schema grammar (installed into the cache with npm when missing) and print the ratio",
        };
        var command = new Command("llm", "LLM tier: prompt/decode speed, binding vs direct C API, constrained vs unconstrained, per-utterance latency")
        {
            model, json, rounds, threads, node,
        };
        command.SetAction(parse =>
        {
            var r = parse.GetValue(rounds);
            if (r < 1)
            {
                Console.Error.WriteLine("bench llm: --rounds must be at least 1");
                return CliSupport.ExitUsage;
            }
            return Guard(() =>
            {
                var path = parse.GetValue(model) ?? EnsureTestModel();
                using var logs = StderrLogs();
                var catalog = ActionCatalog.Load(new AgentOptions().ResolveConfigPath("actions.json"));
                var result = LlmBenchmark.Run(new LlmBenchmark.Settings(path, catalog, r, Threads: parse.GetValue(threads)),
                    logs.CreateLogger("bench"), Console.Error);
                var text = LlmBenchmark.ToText(result);
                if (parse.GetValue(node))
                {
                    var reference = NodeLlamaCppReference.Run(path, catalog, r, result["threads"]!.GetValue<int>(), Console.Error);
                    var ours = result["latency_ms_cached_prompt"]!["p50"]!.GetValue<double>();
                    var theirs = reference["p50_ms"]!.GetValue<double>();
                    result["node_llama_cpp"] = reference;
                    result["node_llama_cpp_p50_vs_ours"] = Math.Round(theirs / ours, 2);
                    text += Environment.NewLine + string.Create(CultureInfo.InvariantCulture,
                        $"node-llama-cpp {reference["version"]}        p50 {theirs:F1} ms, p95 {reference["p95_ms"]!.GetValue<double>():F1} ms per utterance, {reference["ms_per_output_token"]!.GetValue<double>():F2} ms per output token, {reference["complete_json"]}/{reference["utterances"]} complete JSON; ours is {theirs / ours:F1}x faster at p50 (target >= 5x)");
                }
                Console.WriteLine(parse.GetValue(json) ? result.ToJsonString(new JsonSerializerOptions { WriteIndented = false }) : text);
                return CliSupport.ExitOk;
            });
        });
        return command;
    }

    /// <summary>Subcommands of <c>models</c>.</summary>
    public static IEnumerable<Command> Models() => [Info(), Quantize(), MakeTestLlm(), MakeTestLora(), Select()];

    private static Command Info()
    {
        var file = new Argument<string>("FILE") { Description = "GGUF model file" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object" };
        var lora = new Option<string?>("--lora") { Description = "Also load this LoRA adapter for the model and say whether it fits" };
        var command = new Command("info", "Architecture, parameters, quantisation, size, context length, SHA-256 and manifest match of a GGUF file")
        {
            file, json, lora,
        };
        command.SetAction(parse => Guard(() =>
        {
            var path = parse.GetValue(file)!;
            if (!File.Exists(path))
            {
                Console.Error.WriteLine($"models info: no such file: {path}");
                return CliSupport.ExitUsage;
            }
            using var model = LlamaModel.Load(path);
            var manifest = TryManifest();
            var entry = manifest?.FindByFile(path);
            var check = ModelManifest.Verify(path, entry);
            var info = new JsonObject
            {
                ["file"] = Path.GetFullPath(path),
                ["architecture"] = model.Architecture,
                ["description"] = model.Description,
                ["parameters"] = model.ParameterCount,
                ["ftype"] = model.FileType,
                ["ftype_name"] = model.FileTypeName,
                ["size_bytes"] = check.SizeBytes,
                ["tensor_bytes"] = model.TensorBytes,
                ["context_length"] = model.TrainContextLength,
                ["layers"] = model.LayerCount,
                ["embedding_length"] = model.EmbeddingLength,
                ["vocab_size"] = model.Vocab.TokenCount,
                ["chat_template"] = model.ChatTemplate is not null,
                ["sha256"] = check.Sha256,
                ["manifest_entry"] = entry?.Name,
                ["manifest_check"] = check.Message,
            };
            var adapterFits = true;
            if (parse.GetValue(lora) is { } adapterPath)
            {
                info["lora"] = Path.GetFullPath(adapterPath);
                try
                {
                    using var adapter = LlamaLoraAdapter.Load(model, adapterPath);
                    info["lora_name"] = adapter.Name;
                    info["lora_alpha"] = adapter.Alpha;
                    info["lora_check"] = "loads for this model";
                }
                catch (LlamaException ex)
                {
                    info["lora_check"] = ex.Message;
                    adapterFits = false;
                }
            }
            if (parse.GetValue(json)) Console.WriteLine(info.ToJsonString());
            else
                foreach (var (key, value) in info)
                    Console.WriteLine($"{key,-18} {value}");
            return check.Ok && adapterFits ? CliSupport.ExitOk : ExitFailed;
        }));
        return command;
    }

    private static Command Quantize()
    {
        var input = new Argument<string>("IN") { Description = "Input GGUF (F32/F16/BF16 or already quantised)" };
        var output = new Argument<string>("OUT") { Description = "Output GGUF" };
        var type = new Option<string>("--type") { Description = "q4_k_m | q4_0 | q8_0", DefaultValueFactory = _ => "q4_k_m" };
        var command = new Command("quantize", "Quantise a GGUF model with llama_model_quantize") { input, output, type };
        command.SetAction(parse =>
        {
            if (!LlamaQuantizer.TryParse(parse.GetValue(type)!, out var q))
            {
                Console.Error.WriteLine($"models quantize: unknown --type '{parse.GetValue(type)}' (q4_k_m, q4_0, q8_0)");
                return CliSupport.ExitUsage;
            }
            var inPath = parse.GetValue(input)!;
            if (!File.Exists(inPath))
            {
                Console.Error.WriteLine($"models quantize: no such file: {inPath}");
                return CliSupport.ExitUsage;
            }
            return Guard(() =>
            {
                var outPath = parse.GetValue(output)!;
                LlamaQuantizer.Quantize(inPath, outPath, q);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{outPath}: {q}, {new FileInfo(outPath).Length / 1048576.0:F1} MiB (from {new FileInfo(inPath).Length / 1048576.0:F1} MiB)"));
                return CliSupport.ExitOk;
            });
        });
        return command;
    }

    private static Command MakeTestLlm()
    {
        var output = new Argument<string?>("OUT") { Description = "Output GGUF (default: the cache's test-llm-<version>.gguf)", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("make-test-llm", "Build the tiny random-weight Qwen2 test model (real Qwen2 tokenizer, Q4_K_M)") { output };
        command.SetAction(parse => Guard(() =>
        {
            var path = parse.GetValue(output);
            if (path is null)
                path = TestModelBuilder.EnsureDefault();
            else
                TestModelBuilder.Build(path, TestModelShape.Default, QuantizationType.Q4_K_M);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{path}: {new FileInfo(path).Length / 1048576.0:F1} MiB"));
            return CliSupport.ExitOk;
        }));
        return command;
    }

    private static Command MakeTestLora()
    {
        var output = new Argument<string?>("OUT") { Description = "Output GGUF (default: the cache's test-lora-<version>-for-test-llm-<version>.gguf)", Arity = ArgumentArity.ZeroOrOne };
        var model = new Option<string?>("--model") { Description = "The generated test model it is for (default: the cached one, built if missing)" };
        var rank = new Option<int>("--rank") { Description = "LoRA rank", DefaultValueFactory = _ => 8 };
        var command = new Command("make-test-lora", "Build a random-weight LoRA adapter for the generated test model (exercises adapter loading; teaches nothing)")
        {
            output, model, rank,
        };
        command.SetAction(parse =>
        {
            if (parse.GetValue(rank) is < 1 or > 256)
            {
                Console.Error.WriteLine("models make-test-lora: --rank must be 1..256");
                return CliSupport.ExitUsage;
            }
            var path = parse.GetValue(output);
            var baseModel = parse.GetValue(model);
            var customised = baseModel is not null || parse.GetValue(rank) != 8;
            if (path is null && customised)
            {
                // The cached file's name promises the default recipe for the cached model: keep that true.
                Console.Error.WriteLine("models make-test-lora: give OUT when --model or --rank is set");
                return CliSupport.ExitUsage;
            }
            return Guard(() =>
            {
                if (path is null)
                    path = TestModelBuilder.EnsureDefaultLora();
                else
                    TestModelBuilder.BuildLora(path, baseModel ?? EnsureTestModel(), parse.GetValue(rank));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{path}: {new FileInfo(path).Length / 1048576.0:F2} MiB"));
                return CliSupport.ExitOk;
            });
        });
        return command;
    }

    private static Command Select()
    {
        var dir = new Option<string?>("--models-dir") { Description = "Where model files are (default: the cache's models/)" };
        var ram = new Option<long?>("--ram-mb") { Description = "Device RAM in MiB (default: this machine's)" };
        var command = new Command("select", "Which manifest model this device should run (highest min_ram_mb that fits, file present)") { dir, ram };
        command.SetAction(parse => Guard(() =>
        {
            var manifest = TryManifest();
            if (manifest is null)
            {
                Console.Error.WriteLine("models select: config/models.json not found");
                return CliSupport.ExitUsage;
            }
            var ramBytes = parse.GetValue(ram) is { } mb ? mb * 1024 * 1024 : ModelManifest.DeviceRamBytes();
            var modelsDir = parse.GetValue(dir) ?? Path.Combine(CabinCache.Root, "models");
            var chosen = manifest.Select(ramBytes, modelsDir);
            if (chosen is null)
            {
                Console.Error.WriteLine($"models select: no production model in {modelsDir} fits {ramBytes / 1048576} MiB");
                return ExitFailed;
            }
            Console.WriteLine(Path.Combine(modelsDir, chosen.File));
            return CliSupport.ExitOk;
        }));
        return command;
    }

    private static string EnsureTestModel()
    {
        Console.Error.WriteLine($"using the generated test model ({TestModelBuilder.DefaultPath}; built if missing)");
        return TestModelBuilder.EnsureDefault();
    }

    private static ModelManifest? TryManifest()
    {
        var path = new AgentOptions().ResolveConfigPath("models.json");
        return File.Exists(path) ? ModelManifest.Load(path) : null;
    }

    private static ILoggerFactory StderrLogs() => LoggerFactory.Create(b => b
        .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; })
        .SetMinimumLevel(LogLevel.Information)
        .Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace));

    // Engine and file errors become one line on stderr and exit 1, never a stack trace.
    private static int Guard(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception ex) when (ex is LlamaException or LlmConfigurationException or IOException or InvalidDataException or CatalogException)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return ExitFailed;
        }
    }
}
