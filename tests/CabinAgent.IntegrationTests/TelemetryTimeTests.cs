using System.Text;
using CabinAgent.Host.Composition;
using CabinAgent.Pipeline;
using CabinAgent.Safety;

namespace CabinAgent.IntegrationTests;

/// <summary>
/// Telemetry time over a real mosquitto, through the daemon's own telemetry lane (<see cref="AgentRuntime"/>): retained messages are
/// judged by their stamp when the agent subscribes, and a spoofed far-future stamp neither blinds the layer nor opens
/// the gate.
/// </summary>
public class TelemetryTimeTests
{
    private static byte[] Payload(string json) => Encoding.UTF8.GetBytes(json);

    private static async Task WaitUntilAsync(Func<bool> condition, Func<string> state)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("telemetry did not arrive as expected: " + state());
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task RetainedTelemetryIsJudgedByItsStampAndASpoofedFutureStampCannotOpenTheGate()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var bus = await EcuSimulator.ConnectAsync(broker.Url, "vehicle/demo/safety/alert");
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        // Left on the broker by an earlier drive: "parked" an hour ago, "P" with no stamp, and a limit that is still fresh.
        await bus.PublishAsync("vehicle/demo/telemetry/speed_kmh", Payload($$"""{"value": 0, "ts_ms": {{now - 3_600_000}}}"""), retain: true);
        await bus.PublishAsync("vehicle/demo/telemetry/gear", Payload("""{"value": "P"}"""), retain: true);
        await bus.PublishAsync("vehicle/demo/telemetry/speed_limit_kmh", Payload($$"""{"value": 60, "ts_ms": {{now}}}"""), retain: true);

        await using var agent = await AgentUnderTest.StartAsync(broker.Url);
        var counters = agent.Safety.Layer.Counters;
        string Counters() => string.Join(", ", counters.Snapshot().Select(kv => $"{kv.Key}={kv.Value}"));
        // The daemon's telemetry lane and safety timer, on the agent the test already connected.
        await agent.Runtime.StartAsync(AgentLanes.Telemetry | AgentLanes.SafetyTimer, CancellationToken.None);
        try
        {
            await WaitUntilAsync(() => counters.Get("telemetry_accepted.speed_limit_kmh") == 1
                && counters.Get("telemetry_rejected.retained_stale") == 1 && counters.Get("telemetry_rejected.retained_unstamped") == 1, Counters);
            var video = await agent.SayAsync("播放视频");
            Assert.Equal((Outcome.Refused, "video_while_moving", null), (video.Outcome, video.GateRule, video.Topic));

            // Live: a spoofer stamps "0 km/h, P" at INT64_MAX; the ECU reports 80 km/h in D (the gear without a stamp:
            // live, so it counts from its receipt).
            await bus.PublishAsync("vehicle/demo/telemetry/speed_kmh", Payload("""{"value": 0, "ts_ms": 9223372036854775807}"""));
            await bus.PublishAsync("vehicle/demo/telemetry/gear", Payload("""{"value": "P", "ts_ms": 9223372036854775807}"""));
            await bus.PublishAsync("vehicle/demo/telemetry/gear", Payload("""{"value": "D"}"""));
            await bus.PublishAsync("vehicle/demo/telemetry/speed_kmh", Payload($$"""{"value": 80, "ts_ms": {{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}}}"""));
            await WaitUntilAsync(() => counters.Get("telemetry_accepted.speed_kmh") == 1 && counters.Get("telemetry_accepted.gear") == 1, Counters);

            Assert.Equal(2, counters.Get("telemetry_rejected.future"));
            var unlock = await agent.SayAsync("解锁车门");
            Assert.Equal((Outcome.Refused, "door_while_moving", null), (unlock.Outcome, unlock.GateRule, unlock.Topic));
            video = await agent.SayAsync("播放视频");
            Assert.Equal((Outcome.Refused, "video_while_moving", null), (video.Outcome, video.GateRule, video.Topic));

            // One diagnostic alert per signal whose clock ran ahead, on safety/alert.
            await bus.WaitForAsync(r => r.Count >= 2);
            var alerts = bus.Received.Select(m => m.Json).ToList();
            Assert.All(alerts, a => Assert.Equal(("telemetry_clock_fault", "info"), (a["kind"]!.GetValue<string>(), a["severity"]!.GetValue<string>())));
            Assert.Equal(["gear", "speed_kmh"], alerts.Select(a => a["state"]!["signal"]!.GetValue<string>()).Order());
            Assert.Equal(1, counters.Get("telemetry_accepted.speed_limit_kmh"));
            Assert.Equal(0, counters.Get("telemetry_rejected.out_of_order"));
        }
        finally
        {
            await agent.Runtime.StopAsync(drainOutbox: false, CancellationToken.None);
        }
    }
}
