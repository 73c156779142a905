using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using CabinAgent.Actions;
using CabinAgent.Host.Composition;
using CabinAgent.Messaging;
using CabinAgent.Safety;
using CabinAgent.Tools;
using CabinAgent.Tools.Bench;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace CabinAgent.Host.Commands;

/// <summary>
/// The safety layer's command-line verbs: <c>bench safety</c> (latency of the alert and emergency paths to a real
/// MQTT publish) and <c>safety replay</c> (a telemetry/utterance trace through the layer alone).
/// </summary>
internal static class SafetyCommands
{
    /// <summary><c>cabin-agent bench safety [--count N] [--json]</c>.</summary>
    public static Command Bench()
    {
        var count = new Option<int>("--count", "-n") { Description = "Measured iterations per scenario", DefaultValueFactory = _ => 2_000 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (p50_ms, p99_ms, max_ms per scenario)" };
        var command = new Command("safety",
            "Telemetry→alert and transcript→emergency latency to the publish call returning on a loopback broker, alone and under load")
        {
            count, json,
        };
        command.SetAction((parse, ct) => RunBenchAsync(parse.GetValue(count), parse.GetValue(json), ct));
        return command;
    }

    /// <summary><c>cabin-agent safety replay TRACE.jsonl</c>: every alert, notice and decision as JSON lines on stdout.</summary>
    public static Command Replay()
    {
        var trace = new Argument<string>("trace") { Description = "JSONL trace: telemetry lines, vehicle_state lines, utterance lines" };
        var command = new Command("replay", "Replay a telemetry/utterance trace through the safety layer alone, deterministically") { trace };
        command.SetAction(parse => RunReplay(parse.GetValue(trace)!));
        var group = new Command("safety", "The deterministic safety layer") { command };
        return group;
    }

    private static int RunReplay(string tracePath)
    {
        if (!File.Exists(tracePath))
        {
            Console.Error.WriteLine($"safety replay: trace not found: {tracePath}");
            return CliSupport.ExitUsage;
        }
        if (!TryLoad(out var catalog, out var options, out var detector)) return CliSupport.ExitUsage;
        using var reader = new StreamReader(tracePath, Encoding.UTF8);
        var runner = SafetyTraceRunner.Create(options, detector, catalog, Console.Out);
        var counts = runner.Run(reader);
        Console.Error.WriteLine("safety replay: " + string.Join(", ", counts.Select(kv => $"{kv.Key}={kv.Value}")));
        return counts.GetValueOrDefault(TraceLineKind.Invalid) > 0 ? 1 : CliSupport.ExitOk;
    }

    // ---- bench --------------------------------------------------------------------------------------------------

    private static async Task<int> RunBenchAsync(int count, bool json, CancellationToken ct)
    {
        if (count < 10)
        {
            await Console.Error.WriteLineAsync("bench safety: --count must be at least 10");
            return CliSupport.ExitUsage;
        }
        var loadBefore = Machine.LoadAverage1m();
        await using var broker = await EmbeddedBroker.StartAsync();
        // Declared before the agent, so it is removed after the agent has closed its outbox there.
        using var state = new CliSupport.TemporaryFolder("cabin-bench-safety-");
        // The agent's own composition on the loopback broker: its safety options, connection and topics.
        await using var agent = CliSupport.BuildAgent(AgentComposition.BuildConfiguration(null, new Dictionary<string, string?>
        {
            ["Agent:Tiers"] = "deterministic", ["Mqtt:Broker"] = broker.Url, ["Mqtt:VehicleId"] = "bench",
            ["Mqtt:ClientId"] = "cabin-agent-safety-bench", ["Mqtt:OutboxPath"] = Path.Combine(state.Path, "outbox.jsonl"),
        }), verbose: false);
        if (!CliSupport.TryStart(agent, Console.Error)) return CliSupport.ExitUsage;
        var runtime = agent.GetRequiredService<AgentRuntime>();
        await runtime.StartAsync(AgentLanes.Broker, ct);
        var layers = agent.GetRequiredService<SafetyLayerFactory>();
        var (catalog, options) = (runtime.Catalog, layers.Options);
        var topics = runtime.Topics;
        var connection = runtime.Connection;

        var counters = new SafetyCounters();
        var budgets = new LatencyBudgets(options, counters, NullLogger.Instance);
        var probe = new SafetyProbeSink(new MqttSafetySink(connection, topics));
        var dispatcher = new ChannelAlertDispatcher(probe, options, budgets, counters, TimeProvider.System, NullLogger.Instance);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var consumer = Task.Run(() => dispatcher.RunAsync(stop.Token), CancellationToken.None);

        // The layers under test come from the composition root's factory; the bench only measures them.
        var bench = new SafetyLatencyBench(catalog, () => layers.Create(dispatcher, TimeProvider.System, counters, NullLogger.Instance, budgets),
            probe, connection, topics);
        var rows = await bench.RunAsync(count, ct);
        stop.Cancel();
        try { await consumer; } catch (OperationCanceledException) { }

        // The daemon's intake under a backlog: 1,000 transcripts just ahead of each door alert and emergency.
        long backlogEmergencyMisses = 0;
        await using (var backlog = await SafetyBacklogBench.StartAsync(ct))
        {
            try
            {
                var (alertRow, emergencyRow) = await backlog.RunAsync(Math.Max(10, count / 100), options, counters, budgets, ct);
                rows.Add(alertRow);
                rows.Add(emergencyRow);
            }
            catch (TimeoutException ex)
            {
                // On an overloaded machine a backlog round can outlast its wait; the rows measured above still count.
                var failure = $"timed out: {ex.Message}";
                rows.Add(new JsonObject { ["name"] = "telemetry_to_alert", ["load"] = "transcript_backlog_1000", ["skipped"] = failure });
                rows.Add(new JsonObject { ["name"] = "transcript_to_emergency", ["load"] = "transcript_backlog_1000", ["skipped"] = failure });
            }
            backlogEmergencyMisses = BudgetMisses(backlog.Safety.Layer.Counters);
        }

        var loadAfter = Machine.LoadAverage1m();
        var misses = BudgetMisses(counters) + backlogEmergencyMisses;
        var result = new JsonObject
        {
            ["benchmark"] = "safety",
            ["iterations_per_scenario"] = count,
            ["scenarios"] = new JsonArray(rows.Select(r => (JsonNode)r).ToArray()),
            ["target_p99_ms"] = 10.0,
            ["target_p99_ms_backlog"] = 100.0,
            ["budget_ms"] = options.BudgetsMs[LatencyBudgets.EmergencyPath],
            ["budget_misses"] = misses,
            ["load_note"] = SafetyLatencyBench.LoadNote,
            ["measured"] = "from just before the telemetry message / transcript is handed to the safety layer to the MQTT QoS 1 publish call returning (PUBACK) on an in-process loopback broker; " +
                "load transcript_backlog_1000: from the message's arrival at the agent's MQTT client, through the daemon's own lanes (transcript journal with fsync, admission, busy shedding), " +
                $"with {SafetyBacklogBench.Backlog} transcripts published just ahead of each sample",
            ["machine"] = Machine.Description(),
            ["loadavg_1m_before"] = loadBefore,
            ["loadavg_1m_after"] = loadAfter,
        };
        if (json)
        {
            Console.WriteLine(result.ToJsonString());
            return CliSupport.ExitOk;
        }
        Console.WriteLine($"safety layer latency to publish (loopback MQTT broker, QoS 1), {count} iterations per scenario");
        foreach (var r in rows)
        {
            if (r["skipped"] is { } skipped)
            {
                Console.WriteLine($"  {r["name"],-24} load={r["load"],-22} skipped: {skipped}");
                continue;
            }
            var decodesText = r["llm_decodes"] is { } d ? $"  ({d} LLM decodes during the run)" : "";
            var rate = r["load_rate_per_s"] is { } lr ? $"  (flood {lr} msg/s)" : "";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {r["name"],-24} load={r["load"],-22} p50={(double)r["p50_ms"]!,8:F3} p99={(double)r["p99_ms"]!,8:F3} max={(double)r["max_ms"]!,8:F3} ms{rate}{decodesText}"));
        }
        Console.WriteLine($"  target p99 ≤ 10 ms (≤ 100 ms from arrival with a {SafetyBacklogBench.Backlog}-transcript backlog); budget {result["budget_ms"]} ms, misses: {misses}");
        Console.WriteLine("  " + SafetyLatencyBench.LoadNote);
        Console.WriteLine($"  machine: {result["machine"]}; 1-min load average {loadBefore} before, {loadAfter} after (other work on the machine shows here)");
        return CliSupport.ExitOk;
    }

    private static long BudgetMisses(SafetyCounters counters) =>
        counters.Snapshot().Where(kv => kv.Key.StartsWith(CounterNames.BudgetMiss, StringComparison.Ordinal)).Sum(kv => kv.Value);

    private static bool TryLoad(out ActionCatalog catalog, out SafetyOptions options, out EmergencyDetector detector)
    {
        catalog = null!;
        options = null!;
        detector = null!;
        var dir = FindConfigDirectory();
        try
        {
            catalog = ActionCatalog.Load(Path.Combine(dir, "actions.json"));
            options = SafetyOptions.Load(Path.Combine(dir, SafetyModule.OptionsFile));
            detector = EmergencyDetector.LoadConfig(dir);
            return true;
        }
        catch (Exception ex) when (ex is SafetyConfigException or CatalogException or IOException)
        {
            Console.Error.WriteLine($"configuration error: {ex.Message}");
            return false;
        }
    }

    /// <summary>The shipped config next to the binary, else the nearest <c>config/</c> above the working directory.</summary>
    internal static string FindConfigDirectory() =>
        Path.GetDirectoryName(RepoFiles.Find(Path.Combine("config", SafetyModule.OptionsFile), [AppContext.BaseDirectory, Directory.GetCurrentDirectory()]))
        ?? "config";
}
