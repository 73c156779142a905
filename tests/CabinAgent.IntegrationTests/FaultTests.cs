using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using CabinAgent.Pipeline;

namespace CabinAgent.IntegrationTests;

/// <summary>
/// No command lost, none done twice: broker restarts, agent kills and restarts, against a real mosquitto.
/// "Exactly once" is judged the way docs/mqtt.md tells ECUs to: after deduplication by command_id.
/// </summary>
[Trait("Category", "Fault")]
public class FaultTests
{
    /// <summary>Commands spread over three domains so ordering is checked per topic.</summary>
    internal static string TextFor(int i) => (i % 3) switch
    {
        0 => $"音量调到{i % 101}",
        1 => $"温度调到{16 + i % 17}度",
        _ => $"风量调到{1 + i % 7}档",
    };

    /// <summary>Each command's first arrival, in arrival order, keyed by topic.</summary>
    private static Dictionary<string, List<string>> FirstArrivals(EcuSimulator ecu)
    {
        var seen = new HashSet<string>();
        var byTopic = new Dictionary<string, List<string>>();
        foreach (var m in ecu.Received.Where(m => m.Topic.Contains("/cmd/", StringComparison.Ordinal)))
        {
            if (!seen.Add(m.UserProperties["command_id"])) continue;
            if (!byTopic.TryGetValue(m.Topic, out var list)) byTopic[m.Topic] = list = [];
            list.Add(m.UserProperties["command_id"]);
        }
        return byTopic;
    }

    private static int DistinctCommands(EcuSimulator ecu) =>
        ecu.Received.Where(m => m.Topic.Contains("/cmd/", StringComparison.Ordinal)).Select(m => m.UserProperties["command_id"]).Distinct().Count();

    [Fact]
    public async Task ABrokerRestartInTheMiddleOfAThousandCommandsLosesNothingAndKeepsOrder()
    {
        await using var broker = await MosquittoBroker.StartAsync(persistent: true);
        await using var ecu = await EcuSimulator.ConnectAsync(broker.Url, "vehicle/demo/cmd/#", persistentSession: true);
        await using var agent = await AgentUnderTest.StartAsync(broker.Url);

        var accepted = new Dictionary<string, List<string>>();
        var outcomes = new Dictionary<Outcome, int>();
        for (var i = 0; i < 1000; i++)
        {
            if (i == 300) await broker.StopAsync();
            if (i == 600) await broker.RestartAsync();
            var record = await agent.SayAsync(TextFor(i), id: $"fault-{i}");
            outcomes[record.Outcome] = outcomes.GetValueOrDefault(record.Outcome) + 1;
            Assert.True(record.Outcome is Outcome.Published or Outcome.Queued, $"{TextFor(i)}: {record.Outcome} {record.Error}");
            if (!accepted.TryGetValue(record.Topic!, out var list)) accepted[record.Topic!] = list = [];
            list.Add(record.CommandId!);
        }
        await ecu.WaitForAsync(_ => DistinctCommands(ecu) >= 1000, TimeSpan.FromSeconds(60));

        Assert.Equal(1000, accepted.Values.Sum(l => l.Count));
        Assert.True(outcomes.GetValueOrDefault(Outcome.Queued) >= 250, $"outcomes: {string.Join(", ", outcomes)}");
        Assert.Equal(0, agent.Output.OutboxDepth);
        var arrived = FirstArrivals(ecu);
        Assert.Equal(accepted.Keys.Order(), arrived.Keys.Order());
        foreach (var (topic, ids) in accepted)
            Assert.Equal(ids, arrived[topic]);
    }

    [Fact]
    public async Task CommandsQueuedWhileTheBrokerIsDownSurviveAnAgentRestart()
    {
        var outbox = AgentUnderTest.NewOutboxPath();
        var port = CabinAgent.Messaging.EmbeddedBroker.FreeLoopbackPort();
        var url = $"mqtt://127.0.0.1:{port}";
        var accepted = new List<string>();
        var first = await AgentUnderTest.StartAsync(url, connect: false, outboxPath: outbox);
        for (var i = 0; i < 200; i++)
        {
            var record = await first.SayAsync(TextFor(i * 3), id: $"down-{i}");
            Assert.Equal(Outcome.Queued, record.Outcome);
            accepted.Add(record.CommandId!);
        }
        // Each command and its spoken "queued" answer wait in the outbox.
        Assert.Equal(400, first.Output.OutboxDepth);
        // Every queued command was written to disk as it was accepted: dropping the process state here is a kill.
        await first.DisposeAsync();

        await using var broker = await MosquittoBroker.StartAsync(port);
        await using var ecu = await EcuSimulator.ConnectAsync(broker.Url, "vehicle/demo/cmd/#");
        await using var second = await AgentUnderTest.StartAsync(broker.Url, outboxPath: outbox);
        await ecu.WaitForAsync(_ => DistinctCommands(ecu) >= 200, TimeSpan.FromSeconds(30));

        Assert.Equal(accepted, FirstArrivals(ecu)["vehicle/demo/cmd/media"]);
        Assert.Equal(0, second.Output.OutboxDepth);
        File.Delete(outbox);
    }

    [Fact]
    public async Task QueuedCommandsOlderThanTheirTtlAreDroppedAndTheDriverIsTold()
    {
        // The ECU's session (subscription and queued QoS 1 messages) outlives the broker outage, so what the agent says
        // when it reconnects reaches the ECU whichever of the two reconnects first.
        var port = CabinAgent.Messaging.EmbeddedBroker.FreeLoopbackPort();
        await using var broker = await MosquittoBroker.StartAsync(port, persistent: true);
        await using var ecu = await EcuSimulator.ConnectAsync(broker.Url, persistentSession: true);
        await broker.StopAsync();
        await using var agent = await AgentUnderTest.StartAsync($"mqtt://127.0.0.1:{port}", connect: false, outboxTtlSeconds: 1);
        var record = await agent.SayAsync("音量调到30", id: "stale-1");
        Assert.Equal(Outcome.Queued, record.Outcome);
        await Task.Delay(1500);

        await broker.RestartAsync();
        await ecu.WaitForAsync(r => r.Any(m => m.Topic == "vehicle/demo/agent/response"), TimeSpan.FromSeconds(30));

        Assert.DoesNotContain(ecu.Received, m => m.Topic.Contains("/cmd/", StringComparison.Ordinal));
        var spoken = ecu.On("vehicle/demo/agent/response").Single().Json;
        Assert.Equal(("stale-1", "网络中断时间过长，刚才的指令已取消，请重新说一遍。"),
            (spoken["utterance_id"]!.GetValue<string>(), spoken["text"]!.GetValue<string>()));
        Assert.Equal(0, agent.Output.OutboxDepth);
    }

    [Fact]
    public async Task AnAgentKilledMidStreamAndRestartedDeliversEveryCommandOnceInOrder()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var ecu = await EcuSimulator.ConnectAsync(broker.Url);
        var config = Path.Combine(Path.GetTempPath(), $"cabin-kill-{Guid.NewGuid():N}.json");
        var state = Path.Combine(Path.GetTempPath(), $"cabin-kill-state-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(config, new JsonObject
        {
            ["Mqtt"] = new JsonObject
            {
                ["OutboxPath"] = Path.Combine(state, "outbox.jsonl"), ["IntakeJournalPath"] = Path.Combine(state, "intake.jsonl"),
                ["ReconnectDelayMs"] = 100,
            },
            ["Observability"] = new JsonObject { ["Port"] = 0 },
        }.ToJsonString());
        static int IndexOf(ReceivedMessage command) => int.Parse(command.UserProperties["utterance_id"]["kill-".Length..], CultureInfo.InvariantCulture);
        int Answered() => ecu.On("vehicle/demo/agent/response").Select(m => m.Json["utterance_id"]!.GetValue<string>()).Distinct().Count();

        async Task<AgentProcess> StartAgentAsync()
        {
            var process = AgentProcess.Start("run", "--broker", broker.Url, "--config", config);
            await ecu.WaitForAsync(r => r.Count(m => m.Topic == "vehicle/demo/agent/status" && m.Payload.Contains("online")) >
                r.Count(m => m.Topic == "vehicle/demo/agent/status" && m.Payload.Contains("offline")), TimeSpan.FromSeconds(60));
            return process;
        }
        Task SendAsync(int i) => ecu.PublishAsync("vehicle/demo/agent/transcript",
            Encoding.UTF8.GetBytes(new JsonObject { ["id"] = $"kill-{i}", ["text"] = TextFor(i) }.ToJsonString()));

        // The ASR keeps at most 32 transcripts unanswered, well inside the agent's queue, so none is shed as busy.
        var agent = await StartAgentAsync();
        try
        {
            for (var i = 0; i < 1000; i++)
            {
                if (i >= 32) await ecu.WaitForAsync(_ => Answered() > i - 32, TimeSpan.FromSeconds(60));
                await SendAsync(i);
                if (i != 400) continue;
                await ecu.WaitForAsync(_ => DistinctCommands(ecu) >= 300, TimeSpan.FromSeconds(30));
                agent.Kill();
                await agent.WaitForExitAsync();
                await ecu.WaitForAsync(r => r.Any(m => m.Topic == "vehicle/demo/agent/status" && m.Payload.Contains("offline")), TimeSpan.FromSeconds(30));
                // What arrived before the kill is a gap-free prefix of what was said: nothing skipped, nothing reordered.
                var before = FirstArrivalMessages(ecu).Select(IndexOf).Order().ToList();
                Assert.True(before.Count >= 300);
                Assert.Equal(Enumerable.Range(0, before.Count), before);
                agent.Dispose();
                agent = await StartAgentAsync();
            }
            await ecu.WaitForAsync(_ => DistinctCommands(ecu) >= 1000, TimeSpan.FromSeconds(60));
        }
        finally
        {
            agent.Dispose();
        }

        // Every utterance's command once (after deduplication by command_id), in the order spoken, per domain.
        var arrived = FirstArrivalMessages(ecu);
        Assert.Equal(Enumerable.Range(0, 1000), arrived.Select(IndexOf).Order());
        foreach (var topic in arrived.GroupBy(m => m.Topic))
        {
            var order = topic.Select(IndexOf).ToList();
            Assert.Equal(order.Order(), order);
        }
        File.Delete(config);
    }

    /// <summary>Each command's first arrival, in arrival order.</summary>
    private static List<ReceivedMessage> FirstArrivalMessages(EcuSimulator ecu)
    {
        var seen = new HashSet<string>();
        return ecu.Received.Where(m => m.Topic.Contains("/cmd/", StringComparison.Ordinal) && seen.Add(m.UserProperties["command_id"])).ToList();
    }
}
