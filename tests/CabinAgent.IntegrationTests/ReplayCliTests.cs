using System.Text.Json.Nodes;
using CabinAgent.Tools;

namespace CabinAgent.IntegrationTests;

/// <summary><c>cabin-agent replay</c> as an integrator runs it: the built program, real files, exit codes.</summary>
public class ReplayCliTests
{
    private static string Sample(string name) => InRepository(Path.Combine("samples", name));

    private static string InRepository(string relativePath) =>
        RepoFiles.Find(relativePath, [AppContext.BaseDirectory])
        ?? throw new FileNotFoundException($"{relativePath} not found above {AppContext.BaseDirectory}");

    private static async Task<(int Exit, List<JsonObject> Lines, string Stderr)> ReplayAsync(params string[] args)
    {
        var output = Path.Combine(Path.GetTempPath(), $"cabin-replay-{Guid.NewGuid():N}.jsonl");
        using var agent = AgentProcess.Start(["replay", .. args, "--output", output]);
        var exit = await agent.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        var lines = File.Exists(output)
            ? File.ReadAllLines(output).Select(l => (JsonObject)JsonNode.Parse(l)!).ToList()
            : [];
        File.Delete(output);
        return (exit, lines, agent.StandardError);
    }

    [Fact]
    public async Task TheSampleUtterancesGiveOneLinePerInputWithExactOutcomes()
    {
        var (exit, lines, stderr) = await ReplayAsync(Sample("utterances.jsonl"));

        Assert.Equal(0, exit);
        Assert.Equal(File.ReadAllLines(Sample("utterances.jsonl")).Count(l => l.Trim().Length > 0), lines.Count);
        var byId = lines.ToDictionary(l => l["id"]!.GetValue<string>());
        Assert.Equal("""{"action":"MUSIC_PLAY","parameters":{"artist":"周杰伦","song":"晴天"},"response":"正在为您播放周杰伦的晴天","confidence":0.95,"requires_confirmation":false}""",
            byId["s01"]["command"]!.ToJsonString(CabinAgent.Actions.CommandJson.Options));
        Assert.Equal("vehicle/demo/cmd/media", byId["s01"]["topic"]!.GetValue<string>());
        Assert.Equal(23.5, byId["s05"]["command"]!["parameters"]!["temperature"]!.GetValue<double>());
        Assert.Equal(("safety", "EMERGENCY_CALL"), (byId["s16"]["tier"]!.GetValue<string>(), byId["s16"]["command"]!["action"]!.GetValue<string>()));
        Assert.Equal("confirmation_requested", byId["s17"]["outcome"]!.GetValue<string>());
        Assert.Equal(("refused", "trunk_while_moving"), (byId["s29"]["outcome"]!.GetValue<string>(), byId["s29"]["gate_rule"]!.GetValue<string>()));
        Assert.Null(byId["s29"]["topic"]);
        Assert.Equal(("rejected", "empty transcript"), (byId["s18"]["outcome"]!.GetValue<string>(), byId["s18"]["error"]!.GetValue<string>()));
        Assert.Equal("not_understood", byId["s20"]["outcome"]!.GetValue<string>());
        Assert.StartsWith("line 26: invalid JSON (", byId["utterances:26"]["error"]!.GetValue<string>());
        Assert.Equal("transcript too long (1200 characters, limit 1000)", byId["s27"]["error"]!.GetValue<string>());
        Assert.Contains("by outcome:", stderr);
        Assert.Contains("p99=", stderr);
    }

    [Fact]
    public async Task ADriveTraceGivesTheSameAlertsAndDecisionsEveryRun()
    {
        var first = await ReplayAsync(Sample("drive-trace.jsonl"), "--dry-run");
        var second = await ReplayAsync(Sample("drive-trace.jsonl"), "--dry-run");

        static string Decisions(List<JsonObject> lines) => string.Join("\n", lines.Select(l =>
        {
            var copy = (JsonObject)l.DeepClone();
            copy.Remove("latency_ms");
            return copy.ToJsonString();
        }));
        Assert.Equal((0, 0), (first.Exit, second.Exit));
        Assert.Equal(Decisions(first.Lines), Decisions(second.Lines));

        var alerts = first.Lines.Where(l => l["alert"] is not null).Select(l => l["alert"]!["kind"]!.GetValue<string>()).ToList();
        Assert.Equal(["overspeed", "fatigue", "seatbelt_unfastened"], alerts);
        var byId = first.Lines.Where(l => l["id"] is not null && l["text"] is not null).ToDictionary(l => l["id"]!.GetValue<string>());
        Assert.Equal("confirmation_requested", byId["drive-01"]["outcome"]!.GetValue<string>());
        Assert.Equal(("published", "TRUNK_OPEN"), (byId["drive-02"]["outcome"]!.GetValue<string>(), byId["drive-02"]["command"]!["action"]!.GetValue<string>()));
        Assert.Equal(("refused", "video_while_moving"), (byId["drive-03"]["outcome"]!.GetValue<string>(), byId["drive-03"]["gate_rule"]!.GetValue<string>()));
        Assert.Equal("not_understood", byId["drive-04"]["outcome"]!.GetValue<string>());
        Assert.Equal(("safety", "ambulance"), (byId["drive-05"]["tier"]!.GetValue<string>(), byId["drive-05"]["command"]!["parameters"]!["service"]!.GetValue<string>()));
        var rejectedTelemetry = first.Lines.Where(l => l["telemetry"] is not null && l["outcome"]!.GetValue<string>() == "rejected").ToList();
        Assert.Equal(2, rejectedTelemetry.Count);
    }

    [Fact]
    public async Task ATraceWhoseFirstSpeedLineIsStampedAtInt64MaxEndsWithTheOverspeedAlert()
    {
        var (exit, lines, _) = await ReplayAsync(InRepository("tests/CabinAgent.Safety.Tests/data/trace-future-ts.jsonl"), "--dry-run");

        Assert.Equal(0, exit);
        var telemetry = lines.Where(l => l["telemetry"] is not null).ToList();
        Assert.Equal(11, telemetry.Count);
        Assert.Equal(
        [
            "telemetry/speed_kmh: speed_kmh: ts_ms 9223372036854775807 is more than 2000 ms ahead of the agent's clock (1700000000000)",
            "telemetry/gear: gear: ts_ms 9223372036854775807 is more than 2000 ms ahead of the agent's clock (1700000000000)",
        ], telemetry.Where(l => l["outcome"]!.GetValue<string>() == "rejected").Select(l => $"{l["telemetry"]}: {l["error"]}"));
        var alerts = lines.Where(l => l["alert"] is not null).Select(l => l["alert"]!).ToList();
        Assert.Equal(["telemetry_clock_fault", "telemetry_clock_fault", "door_open_moving", "overspeed", "seatbelt_unfastened"],
            alerts.Select(a => a["kind"]!.GetValue<string>()));
        var overspeed = alerts.Single(a => a["kind"]!.GetValue<string>() == "overspeed");
        Assert.Equal(("critical", 1700000004000L, """{"speed_kmh":120,"speed_limit_kmh":60}"""),
            (overspeed["severity"]!.GetValue<string>(), overspeed["ts_ms"]!.GetValue<long>(), overspeed["state"]!.ToJsonString()));
    }

    [Fact]
    public async Task AMissingInputIsAUsageError()
    {
        var (exit, lines, stderr) = await ReplayAsync("/nonexistent/input.jsonl");
        Assert.Equal(2, exit);
        Assert.Empty(lines);
        Assert.Contains("replay: input not found: /nonexistent/input.jsonl", stderr);
    }

    [Fact]
    public async Task AnUnreachableBrokerIsReportedWithItsOwnExitCode()
    {
        var port = CabinAgent.Messaging.EmbeddedBroker.FreeLoopbackPort();
        var (exit, _, stderr) = await ReplayAsync(Sample("utterances.jsonl"), "--broker", $"mqtt://127.0.0.1:{port}");
        Assert.Equal(3, exit);
        Assert.Contains($"replay: cannot reach the broker mqtt://127.0.0.1:{port}", stderr);
    }

    [Fact]
    public async Task ReplayAgainstMosquittoDeliversEveryPublishedCommand()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var ecu = await EcuSimulator.ConnectAsync(broker.Url, "vehicle/demo/cmd/#");
        var (exit, lines, _) = await ReplayAsync(Sample("utterances.jsonl"), "--broker", broker.Url);
        var published = lines.Where(l => l["outcome"]?.GetValue<string>() == "published").ToList();
        await ecu.WaitForAsync(r => r.Count >= published.Count);

        Assert.Equal(0, exit);
        Assert.Equal(published.Select(l => l["command_id"]!.GetValue<string>()).Order(),
            ecu.Received.Select(m => m.UserProperties["command_id"]).Order());
        foreach (var line in published)
        {
            var message = ecu.Received.Single(m => m.UserProperties["command_id"] == line["command_id"]!.GetValue<string>());
            Assert.Equal(line["topic"]!.GetValue<string>(), message.Topic);
            Assert.Equal(line["command"]!.ToJsonString(CabinAgent.Actions.CommandJson.Options), message.Payload);
        }
    }

    private static string WriteUtterances(params string[] texts)
    {
        var path = Path.Combine(Path.GetTempPath(), $"cabin-utterances-{Guid.NewGuid():N}.jsonl");
        File.WriteAllLines(path, texts.Select((t, i) => new JsonObject { ["id"] = $"u{i}", ["text"] = t }.ToJsonString()));
        return path;
    }

    [Fact]
    public async Task ALoraAdapterOnTheCommandLineRunsUnderTheLlmTier()
    {
        var model = CabinAgent.Training.TestModelBuilder.EnsureDefault();
        var adapter = CabinAgent.Training.TestModelBuilder.EnsureDefaultLora();
        var input = WriteUtterances("打开空调", "navigate to the airport");
        try
        {
            var (exit, lines, stderr) = await ReplayAsync(input, "--dry-run", "--tier", "llm", "--model", model, "--lora", $"{adapter}:0.5", "-v");
            var plain = await ReplayAsync(input, "--dry-run", "--tier", "llm", "--model", model);

            Assert.Equal((0, 0), (exit, plain.Exit));
            Assert.Contains($"LLM LoRA adapter {adapter} (cabin-agent test LoRA v1 (random weights, rank 8)): alpha 16, scale 0.5, file 0.6 MiB", stderr);
            Assert.Equal(["u0", "u1"], lines.Select(l => l["id"]!.GetValue<string>()));
            // A random-weight model is never confident: the LLM tier answered, with a valid command, and the agent
            // asked the driver to repeat.
            Assert.All(lines.Concat(plain.Lines), l =>
            {
                Assert.Equal(("not_understood", true), (l["outcome"]!.GetValue<string>(), l["llm"]!["schema_valid"]!.GetValue<bool>()));
                Assert.StartsWith("llm: low confidence", l["error"]!.GetValue<string>());
            });
            // The adapter takes part in decoding: with it, the model says something else.
            static string Said(List<JsonObject> run) => string.Join("\n", run.Select(l => l["llm"]!["raw"]!.GetValue<string>()));
            Assert.NotEqual(Said(plain.Lines), Said(lines));
        }
        finally
        {
            File.Delete(input);
        }
    }

    [Fact]
    public async Task AnAdapterThatDoesNotFitTheModelStopsReplayWithLlamaCppsReason()
    {
        var model = CabinAgent.Training.TestModelBuilder.EnsureDefault();
        var input = WriteUtterances("打开空调");
        try
        {
            var (exit, lines, stderr) = await ReplayAsync(input, "--dry-run", "--model", model, "--lora", model);

            Assert.Equal(2, exit);
            Assert.Empty(lines);
            Assert.Contains($"start-up error: llama.cpp refused the LoRA adapter '{model}' for model '{model}': " +
                            "expect general.type to be 'adapter', but got: ", stderr);
            Assert.DoesNotContain("Unhandled exception", stderr);
        }
        finally
        {
            File.Delete(input);
        }
    }

    [Fact]
    public async Task AFileThatIsNotAModelStopsReplayWithAReasonNotAStackTrace()
    {
        var notAModel = Path.Combine(Path.GetTempPath(), $"not-a-model-{Guid.NewGuid():N}.gguf");
        await File.WriteAllTextAsync(notAModel, "definitely not GGUF");
        var input = WriteUtterances("打开空调");
        try
        {
            var (exit, lines, stderr) = await ReplayAsync(input, "--dry-run", "--model", notAModel);

            Assert.Equal(2, exit);
            Assert.Empty(lines);
            Assert.Contains($"start-up error: llama.cpp could not load '{notAModel}' (not a GGUF model, unsupported architecture or truncated file)", stderr);
            Assert.DoesNotContain("Unhandled exception", stderr);
        }
        finally
        {
            File.Delete(notAModel);
            File.Delete(input);
        }
    }
}
