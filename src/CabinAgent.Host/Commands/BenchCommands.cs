using System.CommandLine;
using System.Text;
using CabinAgent.Host.Composition;
using CabinAgent.Host.Replay;
using CabinAgent.Messaging;
using CabinAgent.Pipeline;
using CabinAgent.Tools;
using CabinAgent.Tools.Bench;
using Microsoft.Extensions.DependencyInjection;

namespace CabinAgent.Host.Commands;

/// <summary><c>cabin-agent bench …</c>: speed goals as benchmarks that print what they measured.</summary>
internal static class BenchCommands
{
    public static Command Create()
    {
        var bench = new Command("bench", "Measure latency and throughput; figures from one run on this machine");
        bench.Subcommands.Add(Deterministic());
        bench.Subcommands.Add(LlmCommands.Bench());
        bench.Subcommands.Add(SafetyCommands.Bench());
        bench.Subcommands.Add(SpeechCommands.Bench());
        return bench;
    }

    private static Command Deterministic()
    {
        var count = new Option<int>("--count", "-n") { Description = "Utterances to send", DefaultValueFactory = _ => 10_000 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object" };
        var input = new Option<string?>("--input") { Description = "JSONL utterances to cycle through (default: samples/utterances.jsonl)" };
        var command = new Command("deterministic", "Utterances through the deterministic tier, schema validation and publish to a loopback broker")
        {
            count, json, input,
        };
        command.SetAction((parse, ct) => RunDeterministicAsync(parse.GetValue(count), parse.GetValue(json), parse.GetValue(input), ct));
        return command;
    }

    private static async Task<int> RunDeterministicAsync(int count, bool json, string? inputPath, CancellationToken ct)
    {
        if (count < 1)
        {
            await Console.Error.WriteLineAsync("bench: --count must be at least 1");
            return CliSupport.ExitUsage;
        }
        var texts = LoadTexts(inputPath ?? FindSamples());
        if (texts.Count == 0)
        {
            await Console.Error.WriteLineAsync("bench: no utterances to send");
            return CliSupport.ExitUsage;
        }

        await using var broker = await EmbeddedBroker.StartAsync();
        var overrides = new Dictionary<string, string?>
        {
            ["Agent:Tiers"] = "deterministic", ["Mqtt:Broker"] = broker.Url,
            ["Mqtt:OutboxPath"] = Path.Combine(Path.GetTempPath(), $"cabin-bench-outbox-{Environment.ProcessId}.jsonl"),
        };
        await using var services = CliSupport.BuildAgent(AgentComposition.BuildConfiguration(null, overrides), verbose: false);
        if (!CliSupport.TryStart(services, Console.Error))
            return CliSupport.ExitUsage;
        await services.GetRequiredService<MqttConnection>().ConnectAsync(ct);
        var result = await DeterministicBench.RunAsync(services.GetRequiredService<UtterancePipeline>(), texts, count, ct);
        Console.WriteLine(json ? result.ToJsonString() : DeterministicBench.ToText(result));
        return CliSupport.ExitOk;
    }

    private static List<string> LoadTexts(string path)
    {
        if (!File.Exists(path)) return [];
        using var reader = new StreamReader(path, Encoding.UTF8);
        return ReplayInput.Read(reader, path).OfType<UtteranceItem>()
            .Where(u => !string.IsNullOrWhiteSpace(u.Text)).Select(u => u.Text!).ToList();
    }

    /// <summary>The shipped samples, found from a checkout or next to the binary.</summary>
    private static string FindSamples()
    {
        var samples = Path.Combine("samples", "utterances.jsonl");
        return RepoFiles.Find(samples) ?? samples;
    }
}
