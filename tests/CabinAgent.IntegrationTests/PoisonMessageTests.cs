using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CabinAgent.Messaging;
using CabinAgent.Pipeline;

namespace CabinAgent.IntegrationTests;

/// <summary>
/// One message the broker will not take must never cut the agent off the bus or block what comes after it
/// (issue: an id with U+0000 made mosquitto drop the agent 122 times in a minute). Against a real mosquitto.
/// </summary>
[Trait("Category", "Fault")]
public class PoisonMessageTests
{
    private static List<ReceivedMessage> Commands(EcuSimulator ecu) =>
        ecu.Received.Where(m => m.Topic.Contains("/cmd/", StringComparison.Ordinal)).ToList();

    private static List<JsonElement> DeadLetters(string outboxPath)
    {
        var path = DeadLetterFile.BesideOutbox(outboxPath);
        return File.Exists(path) ? File.ReadLines(path).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList() : [];
    }

    [Fact]
    public async Task ACommandWhoseIdCannotGoIntoAPacketIsDeadLetteredAndTheAgentStaysConnected()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var ecu = await EcuSimulator.ConnectAsync(broker.Url);
        var outbox = AgentUnderTest.NewOutboxPath();
        await using var agent = await AgentUnderTest.StartAsync(broker.Url, outboxPath: outbox);

        var poison = await agent.SayAsync("下一首", id: "bad\0id");
        var next = await agent.SayAsync("上一首", id: "good-1");
        await ecu.WaitForAsync(r => r.Count(m => m.Topic == "vehicle/demo/agent/response") >= 2);

        Assert.Equal((Outcome.Error, "undeliverable, kept in the dead-letter file: utterance_id cannot go into an MQTT packet: control character U+0000 at 3"),
            (poison.Outcome, poison.Error));
        Assert.Equal(Outcome.Published, next.Outcome);
        Assert.Equal("good-1", Assert.Single(Commands(ecu)).UserProperties["utterance_id"]);
        Assert.True(agent.Connection.IsConnected);
        Assert.DoesNotContain(ecu.Received, m => m.Topic == "vehicle/demo/agent/status" && m.Payload.Contains("offline", StringComparison.Ordinal));
        Assert.Equal(0, agent.Output.OutboxDepth);

        // The driver hears that it failed; the id reaches the cockpit escaped in the JSON, not as a user property.
        var spoken = ecu.On("vehicle/demo/agent/response")[0];
        Assert.Equal(("bad\0id", "error", "抱歉，车辆未能执行刚才的指令。"),
            (spoken.Json["utterance_id"]!.GetValue<string>(), spoken.Json["kind"]!.GetValue<string>(), spoken.Json["text"]!.GetValue<string>()));
        Assert.False(spoken.UserProperties.ContainsKey("utterance_id"));

        var letter = Assert.Single(DeadLetters(outbox));
        Assert.Equal(("bad\0id", "MUSIC_NEXT", "utterance_id cannot go into an MQTT packet: control character U+0000 at 3"),
            (letter.GetProperty("entry").GetProperty("utterance_id").GetString(), letter.GetProperty("entry").GetProperty("action").GetString(),
                letter.GetProperty("reason").GetString()));
    }

    [Fact]
    public async Task APoisonedEntryAtTheHeadOfTheOutboxGoesToTheDeadLetterFileAndTheRestAreSent()
    {
        // An outbox journal as an older agent could have left it: a poison command first, two good ones behind it.
        await using var broker = await MosquittoBroker.StartAsync();
        await using var ecu = await EcuSimulator.ConnectAsync(broker.Url);
        var outbox = AgentUnderTest.NewOutboxPath();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        string Line(string commandId, string utteranceId) => JsonSerializer.Serialize(new
        {
            op = "add",
            entry = new
            {
                command_id = commandId, utterance_id = utteranceId, tier = "deterministic", lang = "zh", action = "MUSIC_NEXT",
                topic = "vehicle/demo/cmd/media", payload = """{"action":"MUSIC_NEXT","parameters":{}}""", accepted_unix_ms = now,
            },
        });
        await File.WriteAllLinesAsync(outbox, [Line("c-poison", "p\u0001"), Line("c-1", "u-1"), Line("c-2", "u-2")]);

        await using var agent = await AgentUnderTest.StartAsync(broker.Url, outboxPath: outbox);
        await ecu.WaitForAsync(r => r.Count(m => m.Topic.Contains("/cmd/", StringComparison.Ordinal)) >= 2 &&
            r.Any(m => m.Topic == "vehicle/demo/agent/response"));

        Assert.Equal(["u-1", "u-2"], Commands(ecu).Select(m => m.UserProperties["utterance_id"]));
        Assert.Equal(0, agent.Output.OutboxDepth);
        Assert.Equal(1, agent.Output.DeadLetterCount);
        var letter = Assert.Single(DeadLetters(outbox));
        Assert.Equal(("c-poison", "utterance_id cannot go into an MQTT packet: control character U+0001 at 1"),
            (letter.GetProperty("entry").GetProperty("command_id").GetString(), letter.GetProperty("reason").GetString()));
        var spoken = Assert.Single(ecu.On("vehicle/demo/agent/response")).Json;
        Assert.Equal(("p\u0001", "抱歉，车辆未能执行刚才的指令。"), (spoken["utterance_id"]!.GetValue<string>(), spoken["text"]!.GetValue<string>()));
    }

    [Fact]
    public async Task ACommandTheBrokerRefusesIsDeadLetteredAtOnceAndNotRetried()
    {
        // The broker's ACL lets this agent write to the media topic but not to the climate topic.
        await using var broker = await MosquittoBroker.StartAsync(extraConfig: AclConfig(
            "topic write vehicle/demo/cmd/media", "topic readwrite vehicle/demo/agent/#"));
        await using var ecu = await EcuSimulator.ConnectAsync(broker.Url);
        var outbox = AgentUnderTest.NewOutboxPath();
        await using var agent = await AgentUnderTest.StartAsync(broker.Url, outboxPath: outbox);

        var refused = await agent.SayAsync("空调调到22度", id: "climate-1");
        var allowed = await agent.SayAsync("下一首", id: "media-1");
        await ecu.WaitForAsync(r => r.Any(m => m.Topic.Contains("/cmd/", StringComparison.Ordinal)));

        Assert.Equal(Outcome.Error, refused.Outcome);
        Assert.StartsWith("undeliverable, kept in the dead-letter file: the broker refused the publish on vehicle/demo/cmd/climate: NotAuthorized",
            refused.Error, StringComparison.Ordinal);
        Assert.Equal(Outcome.Published, allowed.Outcome);
        Assert.Equal("media-1", Assert.Single(Commands(ecu)).UserProperties["utterance_id"]);
        Assert.Equal(0, agent.Output.OutboxDepth);
        Assert.Equal("climate-1", Assert.Single(DeadLetters(outbox)).GetProperty("entry").GetProperty("utterance_id").GetString());
    }

    /// <summary>Anonymous clients (the agent, the ECU simulator) may do what the lines say, and read everything.</summary>
    private static string AclConfig(params string[] agentRules)
    {
        var acl = Path.Combine(Directory.CreateTempSubdirectory("cabin-acl-").FullName, "acl");
        File.WriteAllText(acl, string.Join('\n', agentRules.Append("topic read #").Append("topic write vehicle/demo/agent/ack")) + "\n");
        return $"acl_file {acl}";
    }
}

/// <summary>What the driver is told while the broker is down reaches the cockpit once it is back, in order.</summary>
[Trait("Category", "Fault")]
public class QueuedResponseTests
{
    [Fact]
    public async Task TheQueuedAnswerIsDeliveredAfterTheCommandWhenTheBrokerComesBack()
    {
        // The ECU's session outlives the outage, so it gets what the agent sends whichever of the two reconnects first.
        var port = EmbeddedBroker.FreeLoopbackPort();
        await using var broker = await MosquittoBroker.StartAsync(port, persistent: true);
        await using var ecu = await EcuSimulator.ConnectAsync(broker.Url, persistentSession: true);
        await broker.StopAsync();
        await using var agent = await AgentUnderTest.StartAsync(broker.Url, connect: false);

        var record = await agent.SayAsync("下一首", id: "offline-1");
        Assert.Equal(Outcome.Queued, record.Outcome);
        Assert.Equal(2, agent.Output.OutboxDepth);

        await broker.RestartAsync();
        await ecu.WaitForAsync(r => r.Any(m => m.Topic == "vehicle/demo/agent/response"), TimeSpan.FromSeconds(30));

        Assert.Equal(0, agent.Output.OutboxDepth);
        var order = ecu.Received.Where(m => m.Topic != "vehicle/demo/agent/status").Select(m => m.Topic).ToList();
        Assert.Equal(["vehicle/demo/cmd/media", "vehicle/demo/agent/response"], order);
        var spoken = ecu.On("vehicle/demo/agent/response").Single();
        Assert.Equal(("offline-1", "queued", "offline-1"),
            (spoken.Json["utterance_id"]!.GetValue<string>(), spoken.Json["kind"]!.GetValue<string>(), spoken.UserProperties["utterance_id"]));
    }
}
