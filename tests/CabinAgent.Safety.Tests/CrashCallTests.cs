using System.Text.Json.Nodes;

namespace CabinAgent.Safety.Tests;

/// <summary>
/// The crash signal (eCall) and the emergency question, on the injected clock: countdown, cancel window, the call
/// with the last position, and what silence after a question does with and without a crash in the telemetry.
/// </summary>
public class CrashCallTests
{
    private static IReadOnlyList<SafetyAlert> Calls(Harness h) => h.Alerts(AlertKinds.CrashCall).Where(a => a.Call is not null).ToList();

    [Fact]
    public void The_airbag_signal_calls_by_itself_when_the_cancel_window_ends_with_the_last_position()
    {
        var h = new Harness();
        h.Set(TelemetrySignals.PositionLat, 31.2304, 0);
        h.Set(TelemetrySignals.PositionLon, 121.4737, 0);
        h.Set(TelemetrySignals.SpeedKmh, 60, 0);
        h.Set(TelemetrySignals.AirbagDeployed, true, 1000);

        var countdown = Assert.Single(h.Alerts(AlertKinds.CrashCall));
        Assert.Equal(CrashCallRule.CountdownRule, countdown.Rule);
        Assert.Equal(AlertSeverity.Critical, countdown.Severity);
        Assert.Equal("检测到车辆碰撞，10秒后将自动拨打紧急电话。如不需要，请说“取消”。", countdown.SpokenZh);
        Assert.Null(countdown.Call);
        Assert.True(h.Layer.CrashCallPending);

        h.Advance(10_999);
        Assert.Empty(Calls(h));
        h.Advance(11_000);
        var call = Assert.Single(Calls(h));
        Assert.Equal(CrashCallRule.CallRule, call.Rule);
        Assert.Equal(Harness.At(11_000), call.TriggeredAt);
        Assert.Equal("EMERGENCY_CALL", call.Call!.Action);
        Assert.Equal("""{"service":"general"}""", call.Call.Parameters.ToJsonString());
        Assert.Equal("正在为您拨打紧急电话，并发送车辆位置。", call.SpokenZh);
        Assert.Equal(31.2304, call.State[TelemetrySignals.PositionLat]!.GetValue<double>());
        Assert.Equal(121.4737, call.State[TelemetrySignals.PositionLon]!.GetValue<double>());
        Assert.Equal("airbag_deployed at 1700000001000, not cancelled within 10000 ms; position 31.2304,121.4737 received 11.0 s ago", call.Reason);
        Assert.Equal("EMERGENCY_CALL", call.ToJson()["call"]!["action"]!.GetValue<string>());
        Assert.False(h.Layer.CrashCallPending);
        Assert.Equal(1, h.Layer.Counters.Get($"{CounterNames.CrashCall}.called"));
    }

    [Theory]
    [InlineData("取消")]
    [InlineData("我没事")]
    [InlineData("I'm fine")]
    [InlineData("cancel")]
    public void The_driver_cancels_the_crash_call_inside_the_window(string answer)
    {
        var h = new Harness();
        h.Set(TelemetrySignals.CrashDetected, true, 0);
        var result = h.Layer.PreCheck("u1", answer, null, Harness.At(4000));
        var cancelled = Assert.IsType<ConfirmationAnswered>(result);
        Assert.Null(cancelled.Command);
        Assert.Contains(cancelled.Spoken, new[] { "好的，已取消紧急呼叫。", "OK, the emergency call is cancelled." });
        h.Advance(60_000);
        Assert.Empty(Calls(h));
        Assert.Equal(1, h.Layer.Counters.Get($"{CounterNames.CrashCall}.cancelled"));
    }

    [Fact]
    public void Words_that_are_not_a_cancel_leave_the_countdown_running()
    {
        var h = new Harness();
        h.Set(TelemetrySignals.CrashDetected, true, 0);
        Assert.Same(PreCheckResult.Continue, h.Layer.PreCheck("u1", "打开空调", "zh", Harness.At(3000)));
        h.Advance(10_000);
        Assert.Single(Calls(h));
    }

    [Fact]
    public void A_cancel_after_the_window_changes_nothing_and_the_call_is_not_repeated_while_the_signal_stays_true()
    {
        var h = new Harness();
        h.Set(TelemetrySignals.AirbagDeployed, true, 0);
        h.Advance(10_000);
        Assert.Single(Calls(h));
        Assert.Same(PreCheckResult.Continue, h.Layer.PreCheck("u1", "取消", "zh", Harness.At(12_000)));
        h.Set(TelemetrySignals.AirbagDeployed, true, 13_000);
        h.Set(TelemetrySignals.AirbagDeployed, true, 120_000); // stale in between: still the same crash
        h.Advance(200_000);
        Assert.Single(Calls(h));
    }

    [Fact]
    public void A_signal_that_goes_false_and_true_again_is_a_new_crash()
    {
        var h = new Harness();
        h.Set(TelemetrySignals.CrashDetected, true, 0);
        h.Advance(10_000);
        h.Set(TelemetrySignals.CrashDetected, false, 20_000);
        h.Set(TelemetrySignals.CrashDetected, true, 30_000);
        h.Advance(40_000);
        Assert.Equal([Harness.At(10_000), Harness.At(40_000)], Calls(h).Select(c => c.TriggeredAt));
    }

    [Fact]
    public void The_driver_asking_for_help_in_the_window_calls_at_once_and_only_once()
    {
        var h = new Harness();
        h.Set(TelemetrySignals.AirbagDeployed, true, 0);
        var emergency = Assert.IsType<EmergencyDetected>(h.Layer.PreCheck("u1", "救命", "zh", Harness.At(2000)));
        Assert.Equal("""{"service":"general"}""", emergency.Command.Parameters.ToJsonString());
        h.Advance(30_000);
        Assert.Empty(Calls(h));
    }

    [Fact]
    public void A_zero_window_calls_on_the_signal_itself_and_no_position_says_so()
    {
        var h = new Harness(Harness.OptionsWith(j => j["alerts"]!["crash_call"]!["cancel_window_ms"] = 0));
        h.Set(TelemetrySignals.CrashDetected, true, 500);
        var call = Assert.Single(h.Alerts(AlertKinds.CrashCall));
        Assert.Equal(Harness.At(500), call.TriggeredAt);
        Assert.Equal("正在为您拨打紧急电话。", call.SpokenZh);
        Assert.EndsWith("; position unknown", call.Reason);
    }

    [Theory]
    [InlineData(TelemetrySignals.AirbagDeployed, "{\"value\":1}", TelemetryRejection.WrongType, "airbag_deployed: value must be true or false")]
    [InlineData(TelemetrySignals.CrashDetected, "{\"value\":\"true\"}", TelemetryRejection.WrongType, "crash_detected: value must be true or false")]
    [InlineData(TelemetrySignals.PositionLat, "{\"value\":\"39.9\"}", TelemetryRejection.WrongType, "position_lat: value must be a number")]
    [InlineData(TelemetrySignals.PositionLon, "{\"value\":181}", TelemetryRejection.OutOfRange, "position_lon: 181 outside -180..180 deg")]
    public void New_signals_with_wrong_types_or_ranges_are_rejected_with_a_reason(string signal, string payload,
        TelemetryRejection rejection, string reason)
    {
        var h = new Harness();
        var result = h.Raw(signal, payload, 0);
        Assert.Equal(rejection, result.Rejection);
        Assert.Equal(reason, result.Reason);
        Assert.Empty(h.Outbox.Alerts);
        Assert.Equal(SignalStatus.Missing, h.Layer.Read(signal, Harness.At(0)).Status);
    }

    [Fact]
    public void A_vague_situation_asks_and_yes_calls_the_service_of_the_situation()
    {
        var h = new Harness();
        var question = Assert.IsType<EmergencyQuestion>(h.Layer.PreCheck("u1", "我头好晕", "zh", Harness.At(0)));
        Assert.Equal("需要帮您拨打急救电话吗？", question.Spoken);
        Assert.Equal("ambulance", question.Service);
        Assert.True(h.Layer.AwaitingEmergencyAnswer);
        var call = Assert.IsType<EmergencyDetected>(h.Layer.PreCheck("u2", "是的", "zh", Harness.At(2000)));
        Assert.Equal("""{"service":"ambulance"}""", call.Command.Parameters.ToJsonString());
        Assert.False(h.Layer.AwaitingEmergencyAnswer);
    }

    [Fact]
    public void No_cancels_the_emergency_question()
    {
        var h = new Harness();
        Assert.IsType<EmergencyQuestion>(h.Layer.PreCheck("u1", "i think we hit something", "en", Harness.At(0)));
        var answer = Assert.IsType<ConfirmationAnswered>(h.Layer.PreCheck("u2", "no", "en", Harness.At(1000)));
        Assert.Null(answer.Command);
        Assert.Equal("OK, cancelled.", answer.Spoken);
        h.Advance(60_000);
        Assert.Empty(h.Outbox.Alerts);
        Assert.Empty(h.Outbox.Notices);
    }

    [Fact]
    public void Silence_after_the_question_does_not_call_when_the_vehicle_shows_no_crash()
    {
        var h = new Harness();
        h.Set(TelemetrySignals.SpeedKmh, 50, 0);
        Assert.IsType<EmergencyQuestion>(h.Layer.PreCheck("u1", "车门打不开", "zh", Harness.At(500)));
        h.Set(TelemetrySignals.SpeedKmh, 50, 2000);
        h.Set(TelemetrySignals.SpeedKmh, 50, 4000);
        h.Set(TelemetrySignals.SpeedKmh, 50, 6000);
        h.Set(TelemetrySignals.SpeedKmh, 50, 8000);
        h.Advance(8500);
        Assert.Empty(h.Outbox.Alerts);
        var notice = Assert.Single(h.Outbox.Notices);
        Assert.Equal("没有听到回答，暂不拨打紧急电话。需要时请说“救命”。", notice.Text);
        Assert.Equal(Harness.At(8500), notice.At);
    }

    [Fact]
    public void Silence_after_the_question_calls_when_the_car_stopped_from_speed()
    {
        var h = new Harness();
        h.Set(TelemetrySignals.SpeedKmh, 80, 0);
        h.Set(TelemetrySignals.SpeedKmh, 0, 1500);
        Assert.IsType<EmergencyQuestion>(h.Layer.PreCheck("u1", "i think we hit something", "en", Harness.At(2000)));
        h.Set(TelemetrySignals.SpeedKmh, 0, 3500);
        h.Set(TelemetrySignals.SpeedKmh, 0, 5500);
        h.Set(TelemetrySignals.SpeedKmh, 0, 7500);
        h.Set(TelemetrySignals.SpeedKmh, 0, 9500);
        h.Advance(10_000);
        var call = Assert.Single(h.Alerts(AlertKinds.CrashCall));
        Assert.Equal(CrashCallRule.QuestionTimeoutRule, call.Rule);
        Assert.Equal(Harness.At(10_000), call.TriggeredAt);
        Assert.Equal("""{"service":"general"}""", call.Call!.Parameters.ToJsonString());
        Assert.Equal("Calling emergency services.", call.SpokenEn);
        Assert.Equal("en", call.Lang);
        Assert.Equal("no answer to the emergency question (situation:collision 'hit something') and stopped (0 km/h) 8.5 s after 30 km/h or more; position unknown", call.Reason);
    }

    [Fact]
    public void The_crash_trace_replays_to_the_same_countdown_call_cancel_and_question()
    {
        var output = new StringWriter();
        var runner = SafetyTraceRunner.Create(Harness.LoadOptions(), Harness.Detector, Harness.Catalog, output, 1_700_000_000_000);
        using (var reader = new StreamReader(Path.Combine(AppContext.BaseDirectory, "data", "trace-crash.jsonl")))
            runner.Run(reader);
        var events = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        string Summary(JsonObject e) => e["event"]!.GetValue<string>() switch
        {
            "alert" => $"{e["t_ms"]} alert {e["rule"]}{(e["call"] is JsonObject c ? " call " + c["parameters"]!["service"] : "")}",
            "precheck" => $"{e["t_ms"]} precheck {e["outcome"]}",
            "telemetry_rejected" => $"{e["t_ms"]} rejected {e["rejection"]}",
            var other => $"{e["t_ms"]} {other}",
        };
        string[] expected =
        [
            "1700000002000 rejected wrong_type",
            "1700000002000 alert crash_countdown",
            "1700000012000 alert crash_call call general",
            "1700000031000 alert crash_countdown",
            "1700000035000 precheck confirmation_cancelled",
            "1700000045000 precheck emergency_question",
            "1700000046000 precheck emergency",
        ];
        Assert.Equal(expected, events.Select(Summary).ToArray());
        var call = events.Single(e => e["rule"]?.GetValue<string>() == "crash_call");
        Assert.Equal(39.9042, call["state"]![TelemetrySignals.PositionLat]!.GetValue<double>());
    }
}
