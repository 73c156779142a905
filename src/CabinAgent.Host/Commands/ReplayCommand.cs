using System.CommandLine;
using System.Text;
using CabinAgent.Host.Composition;
using CabinAgent.Host.Replay;
using CabinAgent.Messaging;
using Microsoft.Extensions.DependencyInjection;

namespace CabinAgent.Host.Commands;

/// <summary><c>cabin-agent replay INPUT.jsonl …</c>: recorded utterances through the real pipeline, for integrators.</summary>
internal static class ReplayCommand
{
    public static Command Create()
    {
        var inputs = new Argument<string[]>("inputs")
        {
            Description = "JSONL files of {\"id\", \"text\" or \"audio\", \"lang\"?, \"vehicle_state\"?} lines ('-' for stdin), WAV files, or folders of WAVs",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var output = new Option<string?>("--output", "-o") { Description = "Write output lines here instead of stdout" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Publish nothing; topics are still resolved" };
        var broker = new Option<string?>("--broker") { Description = "mqtt://HOST:PORT; without it an embedded broker is started in-process" };
        var tier = new Option<string>("--tier") { Description = "Which tiers may understand", DefaultValueFactory = _ => "auto" };
        tier.AcceptOnlyFromAmong("auto", "deterministic", "llm");
        var config = new Option<string?>("--config") { Description = "Extra configuration JSON file" };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Information-level logs on stderr" };
        var model = new Option<string?>("--model") { Description = "GGUF model for the LLM tier (must load, or replay stops)" };
        var lora = CliSupport.LoraOption();
        var whisperModel = new Option<string?>("--whisper-model") { Description = "whisper.cpp model for audio inputs (overrides Speech:ModelPath)" };
        var telemetry = new Option<string?>("--telemetry")
        {
            Description = "A recorded telemetry trace ({\"t_ms\", \"topic\", \"payload\"} lines), merged with the inputs by t_ms",
        };

        var command = new Command("replay", "Replay recorded utterances through the pipeline; one JSON line out per line in")
        {
            inputs, output, dryRun, broker, tier, config, verbose, telemetry, model, lora, whisperModel,
        };
        command.SetAction((parse, ct) => RunAsync(
            parse.GetValue(inputs)!, parse.GetValue(output), parse.GetValue(dryRun), parse.GetValue(broker),
            parse.GetValue(tier)!, parse.GetValue(config), parse.GetValue(verbose), parse.GetValue(telemetry), parse.GetValue(model), parse.GetValue(lora) ?? [], parse.GetValue(whisperModel), ct));
        return command;
    }

    private static async Task<int> RunAsync(string[] inputs, string? outputPath, bool dryRun, string? brokerUrl,
        string tier, string? configFile, bool verbose, string? telemetryPath, string? modelPath, string[] lora, string? whisperModel, CancellationToken ct)
    {
        if (inputs.Length == 0 && telemetryPath is null)
        {
            await Console.Error.WriteLineAsync("replay: give at least one input file, or --telemetry TRACE.jsonl");
            return CliSupport.ExitUsage;
        }
        foreach (var input in telemetryPath is null ? inputs : [.. inputs, telemetryPath])
        {
            if (input != "-" && !File.Exists(input) && !Directory.Exists(input))
            {
                await Console.Error.WriteLineAsync($"replay: input not found: {input}");
                return CliSupport.ExitUsage;
            }
        }

        await using var embedded = !dryRun && brokerUrl is null ? await EmbeddedBroker.StartAsync() : null;
        // A replay keeps its own outbox: it must not send, or be sent, a daemon's queued commands.
        var outbox = Path.Combine(Path.GetTempPath(), $"cabin-replay-outbox-{Environment.ProcessId}.jsonl");
        var overrides = new Dictionary<string, string?> { ["Agent:Tiers"] = tier, ["Mqtt:OutboxPath"] = outbox };
        if (modelPath is not null)
        {
            overrides["Llm:ModelPath"] = modelPath;
            overrides["Llm:Required"] = "true";
        }
        CliSupport.AddLoraOverrides(lora, overrides);
        if (whisperModel is not null) overrides["Speech:ModelPath"] = whisperModel;
        if (embedded is not null) overrides["Mqtt:Broker"] = embedded.Url;
        else if (brokerUrl is not null) overrides["Mqtt:Broker"] = brokerUrl;

        // Safety time is the trace's: it starts at the epoch and moves only with the lines' t_ms.
        var clock = new CabinAgent.Safety.SafetyReplayClock(0);
        var configuration = AgentComposition.BuildConfiguration(configFile, overrides);
        await using var services = CliSupport.BuildAgent(configuration, verbose,
            s =>
            {
                s.UseReplayClock(clock);
                if (dryRun) s.UseDryRunOutput();
            });
        if (!CliSupport.TryStart(services, Console.Error))
            return CliSupport.ExitUsage;

        // The daemon's objects: its outbox and broker session (unless a dry run) and its safety dispatcher; no safety
        // timer, because the trace's t_ms moves time here.
        var runtime = services.GetRequiredService<AgentRuntime>();
        try
        {
            await runtime.StartAsync(dryRun ? AgentLanes.None : AgentLanes.Broker, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"replay: cannot reach the broker {overrides.GetValueOrDefault("Mqtt:Broker") ?? "(configured)"}: {ex.Message}");
            return CliSupport.ExitBrokerUnreachable;
        }

        CabinAgent.Speech.SpeechFrontEnd? speech;
        try
        {
            speech = runtime.Speech;
        }
        catch (Exception ex) when (ex is Microsoft.Extensions.Options.OptionsValidationException or CabinAgent.Speech.SpeechRecognitionException or IOException or InvalidDataException)
        {
            await Console.Error.WriteLineAsync($"replay: speech: {ex.Message}");
            return CliSupport.ExitUsage;
        }
        var runner = new ReplayRunner(runtime.Pipeline, runtime.Safety, clock, services.GetRequiredService<SafetyObserver>(), speech);
        await using var output = outputPath is null
            ? new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = false }
            : new StreamWriter(outputPath, append: false, new UTF8Encoding(false));
        if (telemetryPath is null)
        {
            foreach (var input in inputs)
            {
                if (ReplayInput.IsAudio(input))
                {
                    await runner.RunAsync(ReplayInput.FromAudio(input), output, ct);
                    continue;
                }
                using var reader = input == "-"
                    ? new StreamReader(Console.OpenStandardInput(), Encoding.UTF8)
                    : new StreamReader(input, Encoding.UTF8);
                await runner.RunAsync(ReplayInput.Read(reader, input), output, ct);
            }
        }
        else
        {
            var sources = new List<List<ReplayItem>>();
            foreach (var path in (string[])[telemetryPath, .. inputs])
            {
                using var reader = path == "-" ? new StreamReader(Console.OpenStandardInput(), Encoding.UTF8) : new StreamReader(path, Encoding.UTF8);
                sources.Add(ReplayInput.Read(reader, path).ToList());
            }
            await runner.RunAsync(ReplayInput.MergeByTime(sources), output, ct);
        }
        await output.FlushAsync(ct);
        await Console.Error.WriteLineAsync(runner.Summary.Format());
        var unsent = await runtime.StopAsync(drainOutbox: !dryRun, ct);
        if (unsent > 0)
            await Console.Error.WriteLineAsync($"replay: {unsent} queued commands were never sent");
        File.Delete(outbox);
        return CliSupport.ExitOk;
    }
}
