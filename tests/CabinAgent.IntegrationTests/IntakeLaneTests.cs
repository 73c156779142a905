using System.Text;
using System.Text.Json.Nodes;

namespace CabinAgent.IntegrationTests;

/// <summary>
/// The daemon's intake on a real mosquitto: transcripts have a lane of their own (telemetry, ECU acknowledgements and
/// emergencies never wait behind them), every payload gets exactly one answer, and a kill loses and repeats nothing.
/// </summary>
[Trait("Category", "Fault")]
public class IntakeLaneTests
{
    private const string Transcript = "vehicle/demo/agent/transcript";
    private const string Response = "vehicle/demo/agent/response";

    /// <summary>A daemon configuration with its own outbox and intake journal, which a restart can share.</summary>
    private static async Task<string> ConfigAsync(int ackTimeoutMs = 0)
    {
        var config = Path.Combine(Path.GetTempPath(), $"cabin-intake-{Guid.NewGuid():N}.json");
        var state = Path.Combine(Path.GetTempPath(), $"cabin-intake-state-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(config, new JsonObject
        {
            ["Mqtt"] = new JsonObject
            {
                ["OutboxPath"] = Path.Combine(state, "outbox.jsonl"),
                ["IntakeJournalPath"] = Path.Combine(state, "intake.jsonl"),
                ["ReconnectDelayMs"] = 100,
                ["MaxReconnectDelayMs"] = 200,
                ["AckTimeoutMs"] = ackTimeoutMs,
            },
            ["Observability"] = new JsonObject { ["Port"] = 0 },
        }.ToJsonString());
        return config;
    }

    /// <summary>Starts the daemon and waits for its "online" (more onlines than offlines: a restart counts too).</summary>
    private static async Task<AgentProcess> StartAgentAsync(EcuSimulator bus, string brokerUrl, string config)
    {
        var process = AgentProcess.Start("run", "--broker", brokerUrl, "--config", config);
        static int Count(IReadOnlyList<ReceivedMessage> r, string state) =>
            r.Count(m => m.Topic == "vehicle/demo/agent/status" && m.Payload.Contains(state, StringComparison.Ordinal));
        var before = Count(bus.Received, "online") - Count(bus.Received, "offline");
        await bus.WaitForAsync(r => Count(r, "online") - Count(r, "offline") > Math.Max(0, before), TimeSpan.FromSeconds(60));
        return process;
    }

    private static byte[] Json(string id, string text) => Encoding.UTF8.GetBytes(new JsonObject { ["id"] = id, ["text"] = text }.ToJsonString());

    /// <summary>The answers on agent/response, by utterance id.</summary>
    private static Dictionary<string, List<JsonObject>> Answers(EcuSimulator bus) =>
        bus.On(Response).Select(m => m.Json).GroupBy(j => j["utterance_id"]!.GetValue<string>())
            .ToDictionary(g => g.Key, g => g.ToList());

    /// <summary>Waits until every id has an answer, then a little longer so a second answer to any of them would show.</summary>
    private static async Task WaitForAnswersAsync(EcuSimulator bus, IReadOnlyCollection<string> ids, TimeSpan timeout)
    {
        await bus.WaitForAsync(_ => ids.All(Answers(bus).ContainsKey), timeout);
        var settled = bus.On(Response).Count;
        do
        {
            settled = bus.On(Response).Count;
            await Task.Delay(1000);
        }
        while (bus.On(Response).Count != settled);
    }

    [Fact]
    public async Task AnAgentKilledMidBurstAnswersEveryTranscriptExactlyOnceIncludingThoseSentWhileItWasDown()
    {
        // No broker-side cap on what waits for the agent while it is down (mosquitto's default keeps 1,000).
        await using var broker = await MosquittoBroker.StartAsync(extraConfig: "max_queued_messages 0");
        await using var bus = await EcuSimulator.ConnectAsync(broker.Url, "vehicle/demo/agent/#");
        var config = await ConfigAsync();
        const int count = 1500;
        var ids = Enumerable.Range(0, count).Select(i => $"kill-{i}").ToList();

        var agent = await StartAgentAsync(bus, broker.Url, config);
        var sentWhileDown = new List<string>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                if (i == 500)
                {
                    // Mid-burst: hundreds are journaled, queued, being answered or not yet acknowledged to the broker.
                    await bus.WaitForAsync(r => r.Count(m => m.Topic == Response) >= 100, TimeSpan.FromSeconds(60));
                    agent.Kill();
                    await agent.WaitForExitAsync();
                }
                if (i == 1000)
                {
                    agent.Dispose();
                    agent = await StartAgentAsync(bus, broker.Url, config);
                }
                await bus.PublishAsync(Transcript, Json(ids[i], FaultTests.TextFor(i)));
                if (i is >= 500 and < 1000) sentWhileDown.Add(ids[i]);
            }
            await WaitForAnswersAsync(bus, ids, TimeSpan.FromSeconds(120));
        }
        finally
        {
            agent.Dispose();
        }

        var answers = Answers(bus);
        Assert.Equal(500, sentWhileDown.Count);
        Assert.All(sentWhileDown, id => Assert.True(answers.ContainsKey(id), $"{id} was sent while the agent was down and never answered"));
        Assert.Empty(ids.Where(id => answers.GetValueOrDefault(id)?.Count != 1)
            .Select(id => $"{id}: {answers.GetValueOrDefault(id)?.Count ?? 0} answers"));
        Assert.Equal(count, answers.Count);
        // Shed transcripts say why; nothing else was rejected.
        Assert.All(answers.Values.Select(a => a[0]).Where(a => a["kind"]!.GetValue<string>() == "rejected"),
            a => Assert.Equal("busy", a["reason"]!.GetValue<string>()));
        Assert.All(answers.Values.Select(a => a[0]), a => Assert.Contains(a["kind"]!.GetValue<string>(), new[] { "command", "rejected" }));
        File.Delete(config);
    }

    [Fact]
    public async Task TelemetryAcknowledgementsAndAnEmergencyGetThroughABurstOfTwoThousandTranscripts()
    {
        await using var broker = await MosquittoBroker.StartAsync(extraConfig: "max_queued_messages 0");
        // Three parties, as in the car: the ASR publishing, an ECU answering every command at once, the cockpit listening.
        await using var asr = await EcuSimulator.ConnectAsync(broker.Url, "vehicle/demo/asr/none");
        await using var ecu = await EcuSimulator.ConnectAsync(broker.Url, "vehicle/demo/cmd/#");
        ecu.Acknowledge = _ => ("ok", null); // a prompt ECU: no command may be reported unacknowledged
        await using var cockpit = await EcuSimulator.ConnectAsync(broker.Url, "vehicle/demo/#");
        var config = await ConfigAsync(ackTimeoutMs: 2000);
        using var agent = await StartAgentAsync(cockpit, broker.Url, config);

        const int count = 2000;
        var ids = Enumerable.Range(0, count).Select(i => $"burst-{i}").Append("sos").ToList();
        for (var i = 0; i < count; i++)
        {
            await asr.PublishAsync(Transcript, Json(ids[i], FaultTests.TextFor(i)));
            if (i == 1000)
            {
                await asr.PublishAsync("vehicle/demo/telemetry/speed_kmh", """{"value": 40}"""u8.ToArray());
                await asr.PublishAsync("vehicle/demo/telemetry/door_open", """{"value": true}"""u8.ToArray());
                await asr.PublishAsync(Transcript, Json("sos", "救命，出车祸了"));
            }
        }
        await WaitForAnswersAsync(cockpit, ids, TimeSpan.FromSeconds(180));

        Assert.Equal("door_open_moving", cockpit.On("vehicle/demo/safety/alert")[0].Json["kind"]!.GetValue<string>());
        var emergency = Assert.Single(ecu.On("vehicle/demo/cmd/emergency"));
        Assert.Equal(("EMERGENCY_CALL", "sos"), (emergency.Json["action"]!.GetValue<string>(), emergency.UserProperties["utterance_id"]));

        var answers = Answers(cockpit);
        Assert.Empty(ids.Where(id => answers.GetValueOrDefault(id)?.Count != 1).Select(id => $"{id}: {answers.GetValueOrDefault(id)?.Count ?? 0} answers"));
        var kinds = ids.Select(id => answers[id][0]).GroupBy(a => a["kind"]!.GetValue<string>()).ToDictionary(g => g.Key, g => g.Count());
        // Every command the ECU acknowledged counts as done: not one "the ECU did not acknowledge" (kind error).
        Assert.Equal(["command", "rejected"], kinds.Keys.Order());
        Assert.Empty(cockpit.On(Response).Where(m => m.Json["kind"]!.GetValue<string>() == "error").Select(m => m.Payload));
        Assert.All(ids.Select(id => answers[id][0]).Where(a => a["kind"]!.GetValue<string>() == "rejected"),
            a => Assert.Equal("busy", a["reason"]!.GetValue<string>()));
        File.Delete(config);
    }

    [Fact]
    public async Task EveryPayloadGetsOneAnswerWithItsReasonAndAnUnprintableIdIsReplacedWithoutLosingTheConnection()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var bus = await EcuSimulator.ConnectAsync(broker.Url);
        var config = await ConfigAsync();
        using var agent = await StartAgentAsync(bus, broker.Url, config);

        await bus.PublishAsync(Transcript, Encoding.UTF8.GetBytes("{\"id\": \"a\\u0000b\", \"text\": \"下一首\"}"));
        await bus.PublishAsync(Transcript, """{"id": "not-text", "text": 42}"""u8.ToArray());
        await bus.PublishAsync(Transcript, []);
        await bus.PublishAsync(Transcript, [0xFF, 0xFE, 0x41]);
        await bus.PublishAsync(Transcript, """{"id": "after", "text": "暂停"}"""u8.ToArray());
        await bus.WaitForAsync(r => r.Count(m => m.Topic == Response) >= 5 && r.Count(m => m.Topic == "vehicle/demo/cmd/media") >= 2);
        await Task.Delay(500);

        var answers = bus.On(Response).Select(m => m.Json).ToList();
        Assert.Equal(5, answers.Count);
        var replaced = Assert.Single(answers, a => a["id_problem"] is not null);
        Assert.Equal("utterance id contains a non-printable character (U+0000)", replaced["id_problem"]!.GetValue<string>());
        Assert.Equal("command", replaced["kind"]!.GetValue<string>());
        Assert.Matches("^[0-9a-f]{32}$", replaced["utterance_id"]!.GetValue<string>());
        Assert.Equal(["MUSIC_NEXT", "MUSIC_PAUSE"], bus.On("vehicle/demo/cmd/media").Select(m => m.Json["action"]!.GetValue<string>()));
        Assert.Equal(replaced["utterance_id"]!.GetValue<string>(), bus.On("vehicle/demo/cmd/media")[0].UserProperties["utterance_id"]);

        var rejected = answers.Where(a => a["kind"]!.GetValue<string>() == "rejected").ToDictionary(a => a["reason"]!.GetValue<string>(), a => a);
        Assert.Equal(["empty transcript", "transcript field 'text' is not a string", "transcript is not valid UTF-8"], rejected.Keys.Order());
        Assert.Equal("not-text", rejected["transcript field 'text' is not a string"]["utterance_id"]!.GetValue<string>());
        Assert.Equal("command", Assert.Single(answers, a => a["utterance_id"]!.GetValue<string>() == "after")["kind"]!.GetValue<string>());
        // One connection all along: no malformed-packet disconnect, no second "online".
        Assert.Single(bus.On("vehicle/demo/agent/status"), m => m.Payload.Contains("online", StringComparison.Ordinal));
        File.Delete(config);
    }
}
