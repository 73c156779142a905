using System.Text;
using CabinAgent.Actions;
using CabinAgent.Messaging;
using CabinAgent.Safety;

namespace CabinAgent.IntegrationTests;

/// <summary>
/// The crash signal over a real mosquitto: the airbag ECU publishes <c>airbag_deployed</c>, nobody cancels, and the
/// ECU side receives <c>EMERGENCY_CALL</c> on <c>cmd/emergency</c> from the safety layer alone, then the
/// <c>crash_call</c> alert with the position.
/// </summary>
public class CrashCallTests
{
    [Fact]
    public async Task The_airbag_signal_puts_an_emergency_call_on_the_bus_when_nobody_cancels()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        await using var ecu = await EcuSimulator.ConnectAsync(broker.Url, "vehicle/demo/#");
        await using var agent = await AgentUnderTest.StartAsync(broker.Url);
        var config = Path.Combine(AppContext.BaseDirectory, "config");
        var clock = new SafetyReplayClock(1_700_000_000_000);
        var safety = SafetyModule.Create(config, ActionCatalog.Load(Path.Combine(config, "actions.json")),
            new MqttSafetySink(agent.Connection, agent.Topics), clock, latencyClock: TimeProvider.System);
        using var stop = new CancellationTokenSource();
        var dispatcher = safety.Dispatcher.RunAsync(stop.Token);

        var t0 = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);
        safety.Layer.IngestTelemetry("vehicle/demo/telemetry/position_lat", """{"value": 31.2304}"""u8, t0);
        safety.Layer.IngestTelemetry("vehicle/demo/telemetry/position_lon", """{"value": 121.4737}"""u8, t0);
        safety.Layer.IngestTelemetry("vehicle/demo/telemetry/airbag_deployed", """{"value": true}"""u8, t0);
        clock.SetUtcNow(t0.AddSeconds(10));
        safety.Layer.AdvanceTo(t0.AddSeconds(10));

        await ecu.WaitForAsync(r => r.Count(m => m.Topic == "vehicle/demo/safety/alert") >= 2, TimeSpan.FromSeconds(20));
        var call = Assert.Single(ecu.On("vehicle/demo/cmd/emergency"));
        Assert.Equal("EMERGENCY_CALL", call.Json["action"]!.GetValue<string>());
        Assert.Equal("""{"service":"general"}""", call.Json["parameters"]!.ToJsonString());
        Assert.Equal("safety", call.UserProperties["tier"]);
        var alerts = ecu.On("vehicle/demo/safety/alert").Select(m => m.Json).ToList();
        Assert.Equal(["crash_countdown", "crash_call"], alerts.Select(a => a["rule"]!.GetValue<string>()));
        Assert.Equal(31.2304, alerts[1]["state"]!["position_lat"]!.GetValue<double>());
        Assert.Equal("EMERGENCY_CALL", alerts[1]["call"]!["action"]!.GetValue<string>());
        // The call went out before the alert that reports it.
        var order = ecu.Received.Select(m => m.Topic).Where(t => t.EndsWith("cmd/emergency") || t.EndsWith("safety/alert")).ToList();
        Assert.Equal(["vehicle/demo/safety/alert", "vehicle/demo/cmd/emergency", "vehicle/demo/safety/alert"], order);

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => dispatcher);
    }
}
