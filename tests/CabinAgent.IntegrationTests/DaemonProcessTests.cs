using System.Text;

namespace CabinAgent.IntegrationTests;

/// <summary>The real daemon process (<c>cabin-agent run</c>) on a real broker: what an integrator deploys.</summary>
public class DaemonProcessTests
{
    internal static AgentProcess StartAgent(params string[] args) => AgentProcess.Start(args);

    [Fact]
    public async Task TranscriptsOnTheBusBecomeCommandsAndTheWillSaysOfflineWhenKilled()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var ecu = await EcuSimulator.ConnectAsync(broker.Url);
        var healthPort = CabinAgent.Messaging.EmbeddedBroker.FreeLoopbackPort();
        var config = Path.Combine(Path.GetTempPath(), $"cabin-daemon-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, new System.Text.Json.Nodes.JsonObject
        {
            ["Mqtt"] = new System.Text.Json.Nodes.JsonObject { ["OutboxPath"] = AgentUnderTest.NewOutboxPath() },
            ["Observability"] = new System.Text.Json.Nodes.JsonObject { ["Port"] = healthPort },
        }.ToJsonString());
        using var agent = StartAgent("run", "--broker", broker.Url, "--config", config);
        try
        {
            await ecu.WaitForAsync(r => r.Any(m => m.Topic == "vehicle/demo/agent/status" && m.Payload.Contains("online")), TimeSpan.FromSeconds(60));

            await ecu.PublishAsync("vehicle/demo/agent/transcript", Encoding.UTF8.GetBytes("""{"id": "t-1", "text": "下一首"}"""));
            await ecu.PublishAsync("vehicle/demo/agent/transcript", [0xFF, 0xFE, 0x00, 0x41]);
            await ecu.WaitForAsync(r => r.Count(m => m.Topic == "vehicle/demo/agent/response") >= 2);
            await ecu.WaitForAsync(r => r.Any(m => m.Topic == "vehicle/demo/cmd/media"));

            var command = Assert.Single(ecu.On("vehicle/demo/cmd/media"));
            Assert.Equal("t-1", command.UserProperties["utterance_id"]);
            Assert.Equal("MUSIC_NEXT", command.Json["action"]!.GetValue<string>());
            var responses = ecu.On("vehicle/demo/agent/response").Select(m => m.Json["kind"]!.GetValue<string>()).Order().ToList();
            Assert.Equal(["command", "rejected"], responses);

            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{healthPort}") };
            var health = System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync("/healthz"))!;
            Assert.Equal("ok", health["status"]!.GetValue<string>());
            Assert.Equal("connected", health["components"]!["broker"]!.GetValue<string>());
            var metrics = await http.GetStringAsync("/metrics");
            Assert.Contains("cabin_broker_connected 1", metrics);
            Assert.Contains("cabin_outbox_depth 0", metrics);
            Assert.Contains("outcome=\"published\"", metrics);
            Assert.Contains("outcome=\"rejected\"", metrics);
            Assert.Contains("cabin_safety_events{event=\"gate_allowed\",detail=\"\"} 1", metrics);
            Assert.DoesNotContain("下一首", agent.StandardOutput + agent.StandardError);
        }
        finally
        {
            agent.Kill();
            await agent.WaitForExitAsync();
        }

        // Killed without a goodbye: the broker publishes the retained last will.
        await ecu.WaitForAsync(r => r.Any(m => m.Topic == "vehicle/demo/agent/status" && m.Payload == """{"state":"offline"}"""),
            TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task ABadConfigValueFailsStartUpNamingTheKey()
    {
        var config = Path.Combine(Path.GetTempPath(), $"cabin-bad-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, """{"Mqtt": {"VehicleId": "car/1#", "KeepAliveSeconds": 1}}""");
        using var agent = StartAgent("run", "--config", config);
        await agent.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        File.Delete(config);

        Assert.Equal(2, agent.ExitCode);
        Assert.Contains("configuration error: Mqtt:VehicleId: Mqtt:VehicleId must be 1-64 characters of [A-Za-z0-9_-]", agent.StandardError);
        Assert.Contains("configuration error: Mqtt:KeepAliveSeconds:", agent.StandardError);
    }

    [Fact]
    public async Task AnEmptyVehicleIdFailsStartUpInsteadOfBecomingDemo()
    {
        var config = Path.Combine(Path.GetTempPath(), $"cabin-empty-id-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, """{"Mqtt": {"VehicleId": ""}}""");
        using var agent = StartAgent("run", "--config", config);
        await agent.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        File.Delete(config);

        Assert.Equal(2, agent.ExitCode);
        Assert.Contains($"configuration error: {CabinAgent.Messaging.MqttOptions.EmptyVehicleIdError}", agent.StandardError);
    }

    [Fact]
    [Trait("Category", "Fault")]
    public async Task ACorruptModelAMissingWhisperModelAndNoBrokerDegradeButDoNotStopTheAgent()
    {
        var corrupt = Path.Combine(Path.GetTempPath(), $"cabin-corrupt-{Guid.NewGuid():N}.gguf");
        await File.WriteAllBytesAsync(corrupt, "GGUF this is not a model"u8.ToArray());
        var brokerPort = CabinAgent.Messaging.EmbeddedBroker.FreeLoopbackPort();
        var healthPort = CabinAgent.Messaging.EmbeddedBroker.FreeLoopbackPort();
        var config = Path.Combine(Path.GetTempPath(), $"cabin-degraded-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, new System.Text.Json.Nodes.JsonObject
        {
            ["Mqtt"] = new System.Text.Json.Nodes.JsonObject
            {
                ["Broker"] = $"mqtt://127.0.0.1:{brokerPort}", ["OutboxPath"] = AgentUnderTest.NewOutboxPath(), ["ReconnectDelayMs"] = 100,
                ["MaxReconnectDelayMs"] = 200,
            },
            ["Llm"] = new System.Text.Json.Nodes.JsonObject { ["ModelPath"] = corrupt },
            ["Speech"] = new System.Text.Json.Nodes.JsonObject { ["ModelPath"] = "/nonexistent/ggml-small.bin" },
            ["Observability"] = new System.Text.Json.Nodes.JsonObject { ["Port"] = healthPort },
        }.ToJsonString());
        using var agent = StartAgent("run", "--config", config);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{healthPort}") };

        System.Text.Json.Nodes.JsonNode? health = null;
        for (var i = 0; i < 600 && health is null; i++)
        {
            try { health = System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync("/healthz")); }
            catch (HttpRequestException) { await Task.Delay(100); }
        }
        Assert.NotNull(health);
        Assert.Equal("degraded", health!["status"]!.GetValue<string>());
        Assert.Equal("disconnected", health["components"]!["broker"]!.GetValue<string>());
        Assert.Equal("failed", health["components"]!["llm"]!.GetValue<string>());
        Assert.Equal("failed", health["components"]!["speech"]!.GetValue<string>());
        Assert.Equal(["deterministic"], health["components"]!["tiers"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Contains(health["degraded"]!.AsArray(), d => d!.GetValue<string>().StartsWith("LLM tier unavailable", StringComparison.Ordinal));
        Assert.Contains(health["degraded"]!.AsArray(), d => d!.GetValue<string>().StartsWith("whisper model missing: /nonexistent/ggml-small.bin", StringComparison.Ordinal));
        var metrics = await http.GetStringAsync("/metrics");
        Assert.Contains("cabin_component_ok{component=\"llm\",state=\"failed\"} 0", metrics);
        Assert.Contains("cabin_broker_connected 0", metrics);

        // The broker comes up later: the agent connects by itself and works on the deterministic tier.
        await using var broker = await MosquittoBroker.StartAsync(brokerPort);
        await using var ecu = await EcuSimulator.ConnectAsync(broker.Url);
        await ecu.WaitForAsync(r => r.Any(m => m.Topic == "vehicle/demo/agent/status" && m.Payload.Contains("online")), TimeSpan.FromSeconds(60));
        await ecu.PublishAsync("vehicle/demo/agent/transcript", Encoding.UTF8.GetBytes("暂停"));
        await ecu.WaitForAsync(r => r.Any(m => m.Topic == "vehicle/demo/cmd/media"));
        Assert.Equal("MUSIC_PAUSE", ecu.On("vehicle/demo/cmd/media").Single().Json["action"]!.GetValue<string>());

        agent.Kill();
        File.Delete(config);
        File.Delete(corrupt);
    }

    [Fact]
    [Trait("Category", "Fault")]
    public async Task TheSpeechFrontOnMqttAudioIsDegradedWhileTheBrokerRestartsAndListensAgainAfter()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        var healthPort = CabinAgent.Messaging.EmbeddedBroker.FreeLoopbackPort();
        var config = Path.Combine(Path.GetTempPath(), $"cabin-mqtt-audio-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, new System.Text.Json.Nodes.JsonObject
        {
            ["Mqtt"] = new System.Text.Json.Nodes.JsonObject
            {
                ["OutboxPath"] = AgentUnderTest.NewOutboxPath(), ["ReconnectDelayMs"] = 100, ["MaxReconnectDelayMs"] = 500,
            },
            ["Speech"] = new System.Text.Json.Nodes.JsonObject
            {
                ["ModelPath"] = CabinAgent.Tools.Models.WhisperTestModel.EnsureCached(), ["Threads"] = 1,
                ["Input"] = new System.Text.Json.Nodes.JsonObject
                {
                    // The audio comes over the agent's own connection: its broker and backoff are Mqtt's above.
                    ["Kind"] = "mqtt",
                },
            },
            ["Observability"] = new System.Text.Json.Nodes.JsonObject { ["Port"] = healthPort },
        }.ToJsonString());
        using var agent = StartAgent("run", "--broker", broker.Url, "--config", config);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{healthPort}") };

        async Task<System.Text.Json.Nodes.JsonNode> HealthWhen(Func<System.Text.Json.Nodes.JsonNode, bool> condition, string what)
        {
            for (var i = 0; i < 1200; i++)
            {
                try
                {
                    var health = System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync("/healthz"))!;
                    if (condition(health)) return health;
                }
                catch (HttpRequestException)
                {
                }
                await Task.Delay(100);
            }
            throw new TimeoutException($"gave up waiting for /healthz: {what}\n{agent.StandardOutput}{agent.StandardError}");
        }
        static string Component(System.Text.Json.Nodes.JsonNode health, string name) => health["components"]![name]!.GetValue<string>();

        try
        {
            var up = await HealthWhen(h => Component(h, "speech") == "listening" && Component(h, "broker") == "connected", "listening");
            Assert.Equal("ok", up["status"]!.GetValue<string>());
            Assert.Contains("cabin_component_ok{component=\"speech\",state=\"listening\"} 1", await http.GetStringAsync("/metrics"));

            await broker.StopAsync();
            var down = await HealthWhen(h => Component(h, "speech") == "reconnecting", "speech reconnecting");
            Assert.Equal("degraded", down["status"]!.GetValue<string>());
            Assert.Contains(down["degraded"]!.AsArray(), d => d!.GetValue<string>().StartsWith(
                $"audio source mqtt:vehicle/demo/audio/in@127.0.0.1:{broker.Port}: disconnected from 127.0.0.1:{broker.Port}", StringComparison.Ordinal));
            var metrics = await http.GetStringAsync("/metrics");
            Assert.Contains("cabin_component_ok{component=\"speech\",state=\"reconnecting\"} 0", metrics);
            Assert.DoesNotContain("cabin_component_ok{component=\"speech\",state=\"listening\"}", metrics);

            await broker.RestartAsync();
            var back = await HealthWhen(h => Component(h, "speech") == "listening" && Component(h, "broker") == "connected", "listening again");
            Assert.Equal("ok", back["status"]!.GetValue<string>());
            metrics = await http.GetStringAsync("/metrics");
            Assert.Contains("cabin_component_ok{component=\"speech\",state=\"listening\"} 1", metrics);
            Assert.DoesNotContain("cabin_component_ok{component=\"speech\",state=\"reconnecting\"}", metrics);
        }
        finally
        {
            agent.Kill();
            await agent.WaitForExitAsync();
            File.Delete(config);
        }
        var output = agent.StandardOutput + agent.StandardError;
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(output, "MQTT audio: disconnected from"));
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(output, "MQTT audio: reconnected to"));
    }
}
