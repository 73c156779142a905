using System.Text.Json.Nodes;
using CabinAgent.Host.Commands;
using CabinAgent.Host.Composition;
using CabinAgent.Pipeline;
using CabinAgent.Safety;
using Microsoft.Extensions.DependencyInjection;

namespace CabinAgent.IntegrationTests;

/// <summary>
/// The one composition root: every section validated one way at start-up, the safety rules overridable like every
/// other setting, and one set of objects whoever drives the agent (the daemon's queue, replay, eval).
/// </summary>
public class CompositionTests
{
    private static ServiceProvider Agent(Dictionary<string, string?> overrides)
    {
        overrides.TryAdd("Mqtt:OutboxPath", AgentUnderTest.NewOutboxPath());
        return CliSupport.BuildAgent(AgentComposition.BuildConfiguration(null, overrides), verbose: false, s => s.UseDryRunOutput());
    }

    [Theory]
    [InlineData("Agent:QueueCapacity", "0", "configuration error: Agent:QueueCapacity: The field QueueCapacity must be between 1 and 100000.")]
    [InlineData("Agent:DefaultLang", "fr", "configuration error: Agent:DefaultLang: must be zh or en")]
    [InlineData("Mqtt:KeepAliveSeconds", "1", "configuration error: Mqtt:KeepAliveSeconds: The field KeepAliveSeconds must be between 5 and 600.")]
    [InlineData("Llm:ContextLength", "10", "configuration error: Llm:ContextLength must be 512..131072")]
    [InlineData("Speech:Threads", "-1", "configuration error: Speech:Threads must be 0 (all cores) to 256")]
    [InlineData("Speech:Input:Mqtt:Topic", "vehicle/other/audio/in",
        "configuration error: Speech:Input:Mqtt:Topic: the audio topic is vehicle/demo/audio/in, from Mqtt:VehicleId like every topic; remove the setting")]
    [InlineData("Safety:alerts:overspeed:hold_ms", "-1", "configuration error: Safety:alerts.overspeed.hold_ms must be within 0..10000")]
    [InlineData("Observability:Port", "70000", "configuration error: Observability:Port: The field Port must be between 0 and 65535.")]
    public async Task ABadValueInAnySectionIsAStartUpErrorNamingTheKey(string key, string value, string expected)
    {
        await using var services = Agent(new() { [key] = value });
        var error = new StringWriter();

        Assert.False(CliSupport.TryStart(services, error));
        Assert.Equal([expected], error.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>
    /// Settings that would switch a safety rule off while the agent runs as if it were on (found by the #12 probe: one
    /// environment variable with a lower-case action name let TRUNK_OPEN through at 130 km/h after "确认").
    /// </summary>
    [Theory]
    [InlineData("Safety:gate:refuse:2:actions:0", "trunk_open", "configuration error: Safety:gate.refuse[2].actions: 'trunk_open' is not an action of the catalog")]
    [InlineData("Safety:gate:refuse:2:actions:0", "TRUNK_OPEN ", "configuration error: Safety:gate.refuse[2].actions: 'TRUNK_OPEN ' is not an action of the catalog")]
    [InlineData("Safety:gate:refuse:2:actions:0", "", "configuration error: Safety:gate.refuse[2].actions: '' is not an action of the catalog")]
    [InlineData("Safety:gate:confirm:0:actions:0", "window_open", "configuration error: Safety:gate.confirm[0].actions: 'window_open' is not an action of the catalog")]
    [InlineData("Safety:gate:clamp:1:action", "VOLUME_SETT", "configuration error: Safety:gate.clamp[1].action: 'VOLUME_SETT' is not an action of the catalog")]
    [InlineData("Safety:gate:clamp:1:parameter", "lvl", "configuration error: Safety:gate.clamp[1].parameter: VOLUME_SET has no parameter 'lvl'")]
    [InlineData("Safety:gate:clamp:1:max", "1e6", "configuration error: Safety:gate.clamp[1].max: 1000000 is outside VOLUME_SET.level's range 0..100")]
    [InlineData("Safety:gate:refuse:2:max_speed_kmh", "1e9", "configuration error: Safety:gate.refuse[2].max_speed_kmh must be within 0..30")]
    [InlineData("Safety:gate:clamp:1:above_speed_kmh", "1e9", "configuration error: Safety:gate.clamp[1].above_speed_kmh must be within 0..200")]
    [InlineData("Safety:alerts:door_open_moving:moving_speed_kmh", "1e9", "configuration error: Safety:alerts.door_open_moving.moving_speed_kmh must be within (0, 30]")]
    [InlineData("Safety:alerts:door_open_moving:severity", "info", "configuration error: Safety:alerts.door_open_moving.severity must be warning or critical (an info alert is not spoken)")]
    [InlineData("Safety:alerts:overspeed:hold_ms", "2147483647", "configuration error: Safety:alerts.overspeed.hold_ms must be within 0..10000")]
    [InlineData("Safety:max_age_ms:speed_kmh", "2147483647", "configuration error: Safety:max_age_ms.speed_kmh must be within 1..10000")]
    public async Task ASafetySettingThatWouldSwitchARuleOffIsAStartUpError(string key, string value, string expected)
    {
        await using var services = Agent(new() { [key] = value });
        var error = new StringWriter();

        Assert.False(CliSupport.TryStart(services, error), $"{key}={value} started the agent");
        Assert.Equal([expected], error.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task AMisspeltSafetyKeyIsAStartUpErrorAndTheDefaultLanguageLivesOnlyInTheAgentSection()
    {
        await using var misspelt = Agent(new() { ["Safety:alerts:overspeed:hold_msec"] = "100" });
        var error = new StringWriter();
        Assert.False(CliSupport.TryStart(misspelt, error));
        Assert.StartsWith("start-up error: ", error.ToString());
        Assert.Contains("hold_msec", error.ToString());

        await using var english = Agent(new() { ["Agent:DefaultLang"] = "en" });
        Assert.True(CliSupport.TryStart(english, TextWriter.Null));
        Assert.Equal("en", english.GetRequiredService<Microsoft.Extensions.Options.IOptions<SafetyOptions>>().Value.DefaultLang);

        await using var twice = Agent(new() { ["Safety:default_lang"] = "en" });
        error = new StringWriter();
        Assert.False(CliSupport.TryStart(twice, error));
        Assert.Contains("Safety:default_lang", error.ToString());
    }

    [Fact]
    public async Task AnEnvironmentVariableChangesASafetyThresholdTheGateThenApplies()
    {
        var input = Path.Combine(Path.GetTempPath(), $"cabin-volume-{Guid.NewGuid():N}.jsonl");
        await File.WriteAllTextAsync(input, """{"id":"v1","text":"音量调到80","vehicle_state":{"speed_kmh":60,"gear":"D"}}""" + "\n");
        try
        {
            // The shipped rule caps the volume at 85 while moving; the variable lowers it to 50 (clamp rule 1 of safety.json).
            var shipped = await ReplayVolumeAsync(new Dictionary<string, string>(), input);
            var lowered = await ReplayVolumeAsync(new Dictionary<string, string> { ["CABIN_Safety__gate__clamp__1__max"] = "50" }, input);

            Assert.Equal(("published", 80, null), shipped);
            Assert.Equal(("published", 50, "volume_limit_at_speed"), lowered);
        }
        finally
        {
            File.Delete(input);
        }
    }

    private static async Task<(string Outcome, int Level, string? ClampRule)> ReplayVolumeAsync(Dictionary<string, string> environment, string input)
    {
        var output = Path.Combine(Path.GetTempPath(), $"cabin-volume-out-{Guid.NewGuid():N}.jsonl");
        using var agent = AgentProcess.Start(environment, "replay", input, "--dry-run", "--output", output);
        Assert.Equal(0, await agent.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120)));
        var line = (JsonObject)JsonNode.Parse(File.ReadAllLines(output).Single(l => l.Contains("\"v1\"", StringComparison.Ordinal)))!;
        File.Delete(output);
        var note = line["gate_notes"]?.AsArray().Single()!.GetValue<string>();
        return (line["outcome"]!.GetValue<string>(), line["command"]!["parameters"]!["level"]!.GetValue<int>(), note?[..note.IndexOf(':', StringComparison.Ordinal)]);
    }

    [Fact]
    public async Task TheDaemonsQueueAndReplayRunTheSamePipelineAndSafetyLayerToTheSameOutcome()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddCabinAgent(AgentComposition.BuildConfiguration(null, new Dictionary<string, string?>
        {
            ["Mqtt:OutboxPath"] = AgentUnderTest.NewOutboxPath(), ["Agent:Tiers"] = "deterministic",
        }));
        services.AddCabinAgentDaemon();
        services.UseDryRunOutput();
        await using var provider = services.BuildServiceProvider();
        Assert.True(CliSupport.TryStart(provider, TextWriter.Null));
        var runtime = provider.GetRequiredService<AgentRuntime>();

        Assert.Same(provider.GetRequiredService<UtterancePipeline>(), runtime.Pipeline);
        Assert.Same(provider.GetRequiredService<ISafetyLayer>(), runtime.Safety.Layer);
        Assert.Same(runtime.Pipeline, provider.GetRequiredService<Host.Daemon.UtteranceQueue>().Pipeline);

        await runtime.StartAsync(AgentLanes.None, CancellationToken.None);
        runtime.Safety.Layer.ApplySnapshot(new JsonObject { ["speed_kmh"] = 40, ["gear"] = "D" }, DateTimeOffset.UtcNow);
        using var stop = new CancellationTokenSource();
        var queueRunning = runtime.Queue.RunAsync(stop.Token);
        var fromQueue = new TaskCompletionSource<UtteranceRecord>();
        await runtime.Queue.SubmitAsync(new UtteranceInput("daemon-1", "打开后备箱", "zh"), fromQueue.SetResult, CancellationToken.None);
        var daemon = await fromQueue.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var replay = await runtime.Pipeline.ProcessAsync(new UtteranceInput("replay-1", "打开后备箱", "zh"));
        await stop.CancelAsync();
        await queueRunning;
        await runtime.StopAsync(drainOutbox: false, CancellationToken.None);

        Assert.Equal((Outcome.Refused, "trunk_while_moving"), (daemon.Outcome, daemon.GateRule));
        Assert.Equal((daemon.Outcome, daemon.GateRule, daemon.Spoken), (replay.Outcome, replay.GateRule, replay.Spoken));
    }
}
