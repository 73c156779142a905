using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using CabinAgent.Host.Composition;
using CabinAgent.Host.Replay;
using CabinAgent.Messaging;
using CabinAgent.Pipeline;
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
        var pipeline = services.GetRequiredService<UtterancePipeline>();

        // Warm-up: JIT, tiered compilation and the broker's session, so the run measures steady state.
        for (var i = 0; i < Math.Min(2_000, count); i++)
            await pipeline.ProcessAsync(new UtteranceInput($"warmup-{i}", texts[i % texts.Count]) { AcceptedUnixMs = NowMs() }, ct);

        var toPublish = new List<double>(count);
        var total = new List<double>(count);
        var outcomes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var gcBefore = GC.CollectionCount(0);
        var wall = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            var record = await pipeline.ProcessAsync(new UtteranceInput($"bench-{i}", texts[i % texts.Count]) { AcceptedUnixMs = NowMs() }, ct);
            outcomes[record.Outcome.Wire()] = outcomes.GetValueOrDefault(record.Outcome.Wire()) + 1;
            total.Add(record.LatencyMs["total"]);
            if (record.Outcome == Outcome.Published)
                toPublish.Add(TimeToPublish(record));
        }
        wall.Stop();

        var publish = LatencySummary.Of(toPublish);
        var all = LatencySummary.Of(total);
        var result = new JsonObject
        {
            ["benchmark"] = "deterministic",
            ["utterances"] = count,
            ["distinct_texts"] = texts.Count,
            ["published"] = toPublish.Count,
            ["outcomes"] = new JsonObject(outcomes.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
            ["p50_ms"] = Round(publish.P50),
            ["p95_ms"] = Round(publish.P95),
            ["p99_ms"] = Round(publish.P99),
            ["max_ms"] = Round(publish.Max),
            ["all_outcomes_p50_ms"] = Round(all.P50),
            ["all_outcomes_p99_ms"] = Round(all.P99),
            ["throughput_per_s"] = Math.Round(count / wall.Elapsed.TotalSeconds, 1),
            ["gen0_collections"] = GC.CollectionCount(0) - gcBefore,
            ["target_p99_ms"] = 5.0,
            ["machine"] = MachineDescription(),
        };
        if (json)
        {
            Console.WriteLine(result.ToJsonString());
        }
        else
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"deterministic tier → schema → publish (loopback broker), {count} utterances, {toPublish.Count} published"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  transcript→publish ms: p50={publish.P50:F3} p95={publish.P95:F3} p99={publish.P99:F3} max={publish.Max:F3} (target p99 ≤ 5)"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  every outcome ms:      p50={all.P50:F3} p99={all.P99:F3}; {result["throughput_per_s"]} utterances/s"));
            Console.WriteLine("  outcomes: " + string.Join(", ", outcomes.Select(kv => $"{kv.Key}={kv.Value}")));
            Console.WriteLine("  machine: " + MachineDescription());
        }
        return CliSupport.ExitOk;
    }

    /// <summary>Transcript received → publish call returned: the stages up to and including <c>publish</c>.</summary>
    internal static double TimeToPublish(UtteranceRecord record)
    {
        var sum = 0.0;
        foreach (var (stage, ms) in record.LatencyMs)
        {
            if (stage == "total") break;
            sum += ms;
            if (stage == "publish") break;
        }
        return sum;
    }

    private static long NowMs() => TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();

    internal static string MachineDescription() =>
        string.Create(CultureInfo.InvariantCulture,
            $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd}");

    private static double Round(double ms) => Math.Round(ms, 4);

    private static List<string> LoadTexts(string path)
    {
        if (!File.Exists(path)) return [];
        using var reader = new StreamReader(path, Encoding.UTF8);
        return ReplayInput.Read(reader, path).OfType<UtteranceItem>()
            .Where(u => !string.IsNullOrWhiteSpace(u.Text)).Select(u => u.Text!).ToList();
    }

    /// <summary>The shipped samples, found from a checkout or next to the binary.</summary>
    internal static string FindSamples()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "samples", "utterances.jsonl");
                if (File.Exists(candidate)) return candidate;
            }
        }
        return Path.Combine("samples", "utterances.jsonl");
    }
}
