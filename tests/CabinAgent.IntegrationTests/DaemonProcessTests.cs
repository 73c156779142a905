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
}
