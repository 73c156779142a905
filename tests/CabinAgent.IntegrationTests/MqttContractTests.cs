using System.Text;
using CabinAgent.Pipeline;

namespace CabinAgent.IntegrationTests;

/// <summary>The MQTT contract of docs/mqtt.md, checked against a real mosquitto and an ECU simulator.</summary>
public class MqttContractTests
{
    [Fact]
    public async Task TheAgentIsOnlineRetainedWhileConnectedAndOfflineAfterShutdown()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        var agent = await AgentUnderTest.StartAsync(broker.Url);
        await using (var early = await EcuSimulator.ConnectAsync(broker.Url, "vehicle/demo/agent/status"))
        {
            await early.WaitForAsync(r => r.Count >= 1);
            var online = early.Received[0];
            Assert.Equal(("""{"state":"online"}""", true), (online.Payload, online.Retain));
        }
        await agent.DisposeAsync();

        await using var late = await EcuSimulator.ConnectAsync(broker.Url, "vehicle/demo/agent/status");
        await late.WaitForAsync(r => r.Count >= 1);
        Assert.Equal(("""{"state":"offline"}""", true), (late.Received[0].Payload, late.Received[0].Retain));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("今天天气怎么样")]
    [InlineData("Откройте окно")]
    public async Task BadInputGetsAReasonAndNothingOnAnActionTopic(string text)
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var ecu = await EcuSimulator.ConnectAsync(broker.Url);
        await using var agent = await AgentUnderTest.StartAsync(broker.Url);

        var record = await agent.SayAsync(text);
        var tooLong = await agent.SayAsync(new string('开', 1001));
        var french = await agent.SayAsync("ouvre la fenêtre", "fr");
        await agent.SayAsync("下一首", id: "marker");
        await ecu.WaitForAsync(r => r.Any(m => m.Topic.Contains("/cmd/", StringComparison.Ordinal)));

        Assert.NotEqual(Outcome.Published, record.Outcome);
        Assert.NotNull(record.Error);
        Assert.Equal(Outcome.Rejected, tooLong.Outcome);
        Assert.Equal(Outcome.Rejected, french.Outcome);
        var commands = ecu.Received.Where(m => m.Topic.Contains("/cmd/", StringComparison.Ordinal)).ToList();
        Assert.Equal("marker", Assert.Single(commands).UserProperties["utterance_id"]);
    }

    [Fact]
    public async Task EcuAcknowledgementsDecideTheOutcomeAndAFailureIsSpoken()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var ecu = await EcuSimulator.ConnectAsync(broker.Url);
        ecu.Acknowledge = m => m.Json["action"]!.GetValue<string>() switch
        {
            "MUSIC_NEXT" => ("ok", null),
            "WINDOW_CLOSE" => ("failed", "window motor blocked"),
            _ => null, // the climate ECU is asleep: no answer
        };
        await using var agent = await AgentUnderTest.StartAsync(broker.Url, ackTimeoutMs: 1500);

        var ok = await agent.SayAsync("下一首", id: "ack-ok");
        var failed = await agent.SayAsync("关窗", id: "ack-failed");
        var silent = await agent.SayAsync("打开空调", id: "ack-silent");

        Assert.Equal((Outcome.Published, "ok", (string?)null), (ok.Outcome, ok.Ack, ok.Error));
        Assert.Equal((Outcome.Failed, "failed", "the ECU reported a failure: window motor blocked"), (failed.Outcome, failed.Ack, failed.Error));
        Assert.Equal((Outcome.Failed, "timeout", "the ECU did not acknowledge the command in time"), (silent.Outcome, silent.Ack, silent.Error));
        // Each command names its own domain's ack topic: the ACL lets only that domain's ECU write it.
        Assert.Equal(["vehicle/demo/cmd/body → vehicle/demo/agent/ack/body", "vehicle/demo/cmd/climate → vehicle/demo/agent/ack/climate",
                "vehicle/demo/cmd/media → vehicle/demo/agent/ack/media"],
            ecu.Received.Where(m => m.Topic.Contains("/cmd/", StringComparison.Ordinal)).Select(m => $"{m.Topic} → {m.ResponseTopic}").Order(StringComparer.Ordinal));
        await ecu.WaitForAsync(r => r.Count(m => m.Topic == "vehicle/demo/agent/response") >= 5);
        var spoken = ecu.On("vehicle/demo/agent/response").Select(m => (m.Json["utterance_id"]!.GetValue<string>(), m.Json["text"]!.GetValue<string>())).ToList();
        Assert.Contains(("ack-failed", "抱歉，车辆未能执行刚才的指令。"), spoken);
        Assert.Contains(("ack-silent", "抱歉，车辆未能执行刚才的指令。"), spoken);
        Assert.DoesNotContain(("ack-ok", "抱歉，车辆未能执行刚才的指令。"), spoken);
    }
}
