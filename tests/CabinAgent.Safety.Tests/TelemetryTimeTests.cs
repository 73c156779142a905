using System.Text;
using CabinAgent.Tests.Shared;

namespace CabinAgent.Safety.Tests;

/// <summary>
/// Telemetry time against the agent's clock: the skew window (<c>future</c>), re-synchronisation after a source clock
/// steps back, receipt time for unstamped messages, retained messages judged by their stamp, and the clock-fault alert.
/// The window is config/safety.json's 2,000 ms; <see cref="Harness.At"/>(0) is the agent's clock at the start.
/// </summary>
public class TelemetryTimeTests
{
    private const long T0 = Harness.StartMs;

    private static string Stamped(double value, long tsMs) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $$"""{"value": {{value}}, "ts_ms": {{tsMs}}}""");

    [Fact]
    public void The_window_is_the_configured_skew()
    {
        Assert.Equal(2000, Harness.LoadOptions().Telemetry.MaxClockSkewMs);
    }

    [Theory]
    [InlineData(2000, TelemetryRejection.None)]
    [InlineData(2001, TelemetryRejection.Future)]
    [InlineData(long.MaxValue - T0, TelemetryRejection.Future)]
    [InlineData(-T0, TelemetryRejection.None)] // ts 0: a source clock far behind ours is not a fault (freshness is ours)
    public void A_stamp_ahead_of_the_agent_clock_beyond_the_window_is_future(long aheadMs, TelemetryRejection expected)
    {
        var h = new Harness();
        var result = h.Raw("speed_kmh", Stamped(50, T0 + aheadMs), 0);
        Assert.Equal(expected, result.Rejection);
        Assert.Equal(expected == TelemetryRejection.Future ? 1 : 0, h.Layer.Counters.Get("telemetry_rejected.future"));
        Assert.Equal(expected == TelemetryRejection.Future ? SignalStatus.Missing : SignalStatus.Fresh, h.Layer.Read("speed_kmh", Harness.At(0)).Status);
    }

    [Fact]
    public void One_message_stamped_at_int64_max_no_longer_blinds_the_layer()
    {
        var h = new Harness();
        h.Set("speed_limit_kmh", 60, 0);
        var spoof = h.Raw("speed_kmh", Stamped(0, long.MaxValue), 0);

        Assert.Equal(TelemetryRejection.Future, spoof.Rejection);
        Assert.Equal("speed_kmh: ts_ms 9223372036854775807 is more than 2000 ms ahead of the agent's clock (1700000000000)", spoof.Reason);
        for (var t = 1000; t <= 5000; t += 1000)
            Assert.True(h.Raw("speed_kmh", Stamped(120, T0 + t), t).Accepted);

        Assert.Equal(120, h.Layer.Read("speed_kmh", Harness.At(5000)).Value);
        var overspeed = Assert.Single(h.Alerts(AlertKinds.Overspeed));
        Assert.Equal((Harness.At(4000), AlertSeverity.Critical), (overspeed.TriggeredAt, overspeed.Severity));
        Assert.Equal(0, h.Layer.Counters.Get("telemetry_rejected.out_of_order"));
    }

    [Fact]
    public void A_stamp_ahead_within_the_window_holds_later_messages_off_for_at_most_the_window()
    {
        var h = new Harness();
        Assert.True(h.Raw("speed_kmh", Stamped(0, T0 + 2000), 0).Accepted);

        Assert.Equal(TelemetryRejection.OutOfOrder, h.Raw("speed_kmh", Stamped(80, T0 + 1000), 1000).Rejection);
        Assert.Equal(TelemetryRejection.OutOfOrder, h.Raw("speed_kmh", Stamped(80, T0 + 1999), 1999).Rejection);
        Assert.True(h.Raw("speed_kmh", Stamped(80, T0 + 2000), 2000).Accepted);
        Assert.Equal(80, h.Layer.Read("speed_kmh", Harness.At(2000)).Value);
    }

    [Fact]
    public void The_clock_fault_alert_is_raised_once_per_episode_per_signal()
    {
        var h = new Harness();
        for (var t = 0; t < 1000; t += 100)
            Assert.Equal(TelemetryRejection.Future, h.Raw("speed_kmh", Stamped(0, T0 + t + 5000), t).Rejection);

        var alert = Assert.Single(h.Alerts(AlertKinds.TelemetryClockFault));
        Assert.Equal((AlertKinds.TelemetryClockFault, AlertSeverity.Info, Harness.At(0)), (alert.Rule, alert.Severity, alert.TriggeredAt));
        Assert.Equal("speed_kmh: ts_ms 1700000005000 is more than 2000 ms ahead of the agent's clock (1700000000000)", alert.Reason);
        Assert.Equal("""{"signal":"speed_kmh","ts_ms":1700000005000,"received_ms":1700000000000}""", alert.State.ToJsonString());
        Assert.Equal("车辆信号时间异常，部分安全提醒暂时无法使用，请谨慎驾驶。", alert.Spoken);
        Assert.Equal(10, h.Layer.Counters.Get("telemetry_rejected.future"));
        Assert.Equal(1, h.Layer.Counters.Get("alerts_raised.telemetry_clock_fault"));

        // Another signal is its own episode.
        Assert.Equal(TelemetryRejection.Future, h.Raw("gear", """{"value": "P", "ts_ms": 9223372036854775807}""", 1000).Rejection);
        Assert.Equal(["speed_kmh", "gear"], h.Alerts(AlertKinds.TelemetryClockFault).Select(a => a.State["signal"]!.GetValue<string>()));

        // The clock comes back (episode over), then jumps again within the re-alert interval: counted, not spoken.
        Assert.True(h.Raw("speed_kmh", Stamped(50, T0 + 2000), 2000).Accepted);
        Assert.Equal(TelemetryRejection.Future, h.Raw("speed_kmh", Stamped(50, T0 + 9000), 3000).Rejection);
        Assert.Equal(2, h.Alerts(AlertKinds.TelemetryClockFault).Count);
        Assert.Equal(1, h.Layer.Counters.Get("alerts_suppressed.telemetry_clock_fault"));

        // Back again, and a new episode after the interval (60 s) is spoken.
        Assert.True(h.Raw("speed_kmh", Stamped(50, T0 + 4000), 4000).Accepted);
        Assert.Equal(TelemetryRejection.Future, h.Raw("speed_kmh", Stamped(50, T0 + 70_000), 60_000).Rejection);
        Assert.Equal(["speed_kmh", "gear", "speed_kmh"], h.Alerts(AlertKinds.TelemetryClockFault).Select(a => a.State["signal"]!.GetValue<string>()));
        Assert.Equal(Harness.At(60_000), h.Alerts(AlertKinds.TelemetryClockFault)[2].TriggeredAt);
    }

    [Fact]
    public void A_clock_fault_alert_the_outbox_cannot_take_is_retried_on_the_next_future_message()
    {
        var h = new Harness();
        h.Outbox.Accepting = false;
        Assert.Equal(TelemetryRejection.Future, h.Raw("speed_kmh", Stamped(0, long.MaxValue), 0).Rejection);
        Assert.Equal(1, h.Layer.Counters.Get("alerts_queue_full.telemetry_clock_fault"));
        h.Outbox.Accepting = true;
        Assert.Equal(TelemetryRejection.Future, h.Raw("speed_kmh", Stamped(0, long.MaxValue), 100).Rejection);
        Assert.Equal(Harness.At(100), Assert.Single(h.Alerts(AlertKinds.TelemetryClockFault)).TriggeredAt);
    }

    [Fact]
    public void A_source_clock_stepping_back_beyond_the_window_is_resynchronised_not_locked_out()
    {
        var h = new Harness();
        Assert.True(h.Raw("speed_kmh", Stamped(50, T0), 0).Accepted);
        // Within the window: a reordering.
        var late = h.Raw("speed_kmh", Stamped(10, T0 - 2000), 100);
        Assert.Equal((TelemetryRejection.OutOfOrder, "speed_kmh: ts_ms 1699999998000 is older than the stored 1700000000000"), (late.Rejection, late.Reason));
        // Beyond it: the ECU rebooted and counts from 0 again.
        var reboot = h.Raw("speed_kmh", Stamped(60, 1000), 200);
        Assert.True(reboot.Accepted);
        Assert.Equal("speed_kmh: ts_ms stepped back 1699999999000 ms (from 1700000000000 to 1000), beyond the 2000 ms window: re-based", reboot.Resync);
        Assert.True(h.Raw("speed_kmh", Stamped(61, 1100), 300).Accepted);
        Assert.Equal(TelemetryRejection.OutOfOrder, h.Raw("speed_kmh", Stamped(62, 1050), 400).Rejection);
        Assert.Equal(61, h.Layer.Read("speed_kmh", Harness.At(400)).Value);
        Assert.Equal(1, h.Layer.Counters.Get("telemetry_resync.speed_kmh"));
        Assert.Equal(2, h.Layer.Counters.Get("telemetry_rejected.out_of_order"));
    }

    [Fact]
    public void A_forward_clock_jump_is_rejected_while_it_lasts_and_the_source_is_taken_again_when_its_clock_is_corrected()
    {
        var h = new Harness();
        Assert.True(h.Raw("speed_kmh", Stamped(50, T0), 0).Accepted);
        Assert.Equal(TelemetryRejection.Future, h.Raw("speed_kmh", Stamped(51, T0 + 3_600_100), 100).Rejection);
        Assert.Equal(TelemetryRejection.Future, h.Raw("speed_kmh", Stamped(52, T0 + 3_600_200), 200).Rejection);
        Assert.True(h.Raw("speed_kmh", Stamped(53, T0 + 300), 300).Accepted);
        Assert.Equal(53, h.Layer.Read("speed_kmh", Harness.At(300)).Value);
        Assert.Equal(0, h.Layer.Counters.Get("telemetry_rejected.out_of_order"));
    }

    [Fact]
    public void An_unstamped_message_takes_its_receipt_time_and_is_ordered_by_it()
    {
        var h = new Harness();
        byte[] Payload(int v) => Encoding.UTF8.GetBytes($$"""{"value": {{v}}}""");
        Assert.True(h.Layer.IngestTelemetry("speed_kmh", Payload(50), Harness.At(1000)).Accepted);
        var earlier = h.Layer.IngestTelemetry("speed_kmh", Payload(10), Harness.At(500));
        Assert.Equal((TelemetryRejection.OutOfOrder, "speed_kmh: receipt time 1700000000500 is older than the stored 1700000001000"),
            (earlier.Rejection, earlier.Reason));
        Assert.Equal(50, h.Layer.Read("speed_kmh", Harness.At(1000)).Value);
        Assert.True(h.Layer.IngestTelemetry("speed_kmh", Payload(55), Harness.At(1000)).Accepted);
        // Our own clock stepped back by more than the window: re-based, not locked out.
        var stepped = h.Layer.IngestTelemetry("speed_kmh", Payload(60), Harness.At(-5000));
        Assert.True(stepped.Accepted);
        Assert.Equal("speed_kmh: receipt time stepped back 6000 ms (from 1700000001000 to 1699999995000), beyond the 2000 ms window: re-based", stepped.Resync);
    }

    [Theory]
    [InlineData(1500)]   // the ECU's clock 1.5 s ahead of ours
    [InlineData(-1500)]  // 1.5 s behind
    [InlineData(-T0)]    // never set: counts from 0 since boot
    public void A_source_mixing_stamped_and_unstamped_messages_never_locks_itself_out(long offsetMs)
    {
        var h = new Harness();
        for (var t = 0; t < 2000; t += 100)
        {
            var payload = t % 200 == 0 ? Stamped(t / 100, T0 + t + offsetMs) : $$"""{"value": {{t / 100}}}""";
            var result = h.Raw("speed_kmh", payload, t);
            Assert.True(result.Accepted, $"t={t}: {result.Reason}");
        }
        Assert.Equal(20, h.Layer.Counters.Get("telemetry_accepted.speed_kmh"));
        Assert.Equal(19, h.Layer.Read("speed_kmh", Harness.At(1900)).Value);
    }

    [Fact]
    public void Retained_values_are_judged_by_their_stamp_against_our_clock()
    {
        var h = new Harness();
        var stale = h.Raw("speed_kmh", Stamped(0, T0 - 2001), 0, TelemetryOrigin.Retained);
        Assert.Equal((TelemetryRejection.RetainedStale, "speed_kmh: retained value is 2001 ms old (ts_ms 1699999997999, max age 2000 ms)"),
            (stale.Rejection, stale.Reason));
        var unstamped = h.Raw("gear", """{"value": "P"}""", 0, TelemetryOrigin.Retained);
        Assert.Equal((TelemetryRejection.RetainedUnstamped, "gear: retained value without ts_ms: its age cannot be judged"),
            (unstamped.Rejection, unstamped.Reason));
        var future = h.Raw("door_open", """{"value": false, "ts_ms": 1700000002001}""", 0, TelemetryOrigin.Retained);
        Assert.Equal(TelemetryRejection.Future, future.Rejection);
        Assert.Equal("door_open", Assert.Single(h.Alerts(AlertKinds.TelemetryClockFault)).State["signal"]!.GetValue<string>());
        Assert.Equal([1, 1, 1], new[] { "retained_stale", "retained_unstamped", "future" }.Select(r => h.Layer.Counters.Get("telemetry_rejected." + r)));
        Assert.Equal("{}", h.Layer.StateSnapshot(Harness.At(0)).ToJsonString());

        // A fresh retained value counts, and ages from its stamp, not from when the broker handed it over.
        Assert.True(h.Raw("speed_limit_kmh", Stamped(60, T0 - 59_000), 0, TelemetryOrigin.Retained).Accepted);
        Assert.Equal(SignalStatus.Fresh, h.Layer.Read("speed_limit_kmh", Harness.At(1000)).Status);
        Assert.Equal(SignalStatus.Stale, h.Layer.Read("speed_limit_kmh", Harness.At(1001)).Status);
    }

    [Fact]
    public void A_retained_copy_older_than_the_live_value_is_out_of_order_never_a_resync()
    {
        var h = new Harness();
        Assert.True(h.Raw("fuel_percent", Stamped(40, T0), 0).Accepted);
        // After a reconnect the broker hands over its retained copy from 100 s ago (within fuel's 600 s max age).
        var copy = h.Raw("fuel_percent", Stamped(55, T0 - 100_000), 1000, TelemetryOrigin.Retained);
        Assert.Equal(TelemetryRejection.OutOfOrder, copy.Rejection);
        Assert.Equal(40, h.Layer.Read("fuel_percent", Harness.At(1000)).Value);
        Assert.Equal(0, h.Layer.Counters.Get("telemetry_resync.fuel_percent"));
    }

    [Fact]
    public void A_stale_retained_parked_state_never_opens_the_gate()
    {
        var h = new Harness();
        h.Raw("speed_kmh", Stamped(0, T0 - 3_600_000), 0, TelemetryOrigin.Retained);
        h.Raw("gear", """{"value": "P"}""", 0, TelemetryOrigin.Retained);
        var refuse = Assert.IsType<GateRefuse>(h.Layer.Gate(Harness.Command("VIDEO_PLAY"), "u1", "zh", Harness.At(0)));
        Assert.Equal(("video_while_moving", "vehicle state unknown: speed_kmh never received"), (refuse.Rule, refuse.Reason));
    }

    [Fact]
    public void A_spoofed_future_parked_state_is_rejected_and_the_real_speed_refuses_video_and_unlock()
    {
        var h = new Harness();
        // Parked for real: the driver asks to unlock, the gate asks to confirm.
        Assert.True(h.Raw("speed_kmh", Stamped(0, T0), 0).Accepted);
        Assert.True(h.Raw("gear", $$"""{"value": "P", "ts_ms": {{T0}}}""", 0).Accepted);
        Assert.IsType<GateAskConfirmation>(h.Layer.Gate(Harness.Command("DOOR_UNLOCK"), "u1", "zh", Harness.At(0)));

        // The car drives off; a spoofer stamps "0 km/h, P" far in the future; the ECU keeps reporting 80 km/h in D.
        Assert.Equal(TelemetryRejection.Future, h.Raw("speed_kmh", Stamped(0, long.MaxValue), 500).Rejection);
        Assert.Equal(TelemetryRejection.Future, h.Raw("gear", """{"value": "P", "ts_ms": 9223372036854775807}""", 500).Rejection);
        Assert.True(h.Raw("gear", $$"""{"value": "D", "ts_ms": {{T0 + 1000}}}""", 1000).Accepted);
        Assert.True(h.Raw("speed_kmh", Stamped(80, T0 + 1000), 1000).Accepted);

        var confirmed = Assert.IsType<ConfirmationAnswered>(h.Layer.PreCheck("u2", "确认", "zh", Harness.At(1100)));
        Assert.Null(confirmed.Command);
        Assert.Equal("车辆行驶中（80公里每小时），无法解锁车门。", confirmed.Spoken);
        var video = Assert.IsType<GateRefuse>(h.Layer.Gate(Harness.Command("VIDEO_PLAY"), "u3", "zh", Harness.At(1200)));
        Assert.Equal("video_while_moving", video.Rule);
        var unlock = Assert.IsType<GateRefuse>(h.Layer.Gate(Harness.Command("DOOR_UNLOCK"), "u4", "zh", Harness.At(1300)));
        Assert.Equal(("door_while_moving", "车辆行驶中（80公里每小时），无法解锁车门。"), (unlock.Rule, unlock.Spoken));
    }

    [Fact]
    public void Rejection_logs_are_rate_limited_per_reason_and_the_counter_keeps_the_total()
    {
        var log = new ListLogger();
        var h = new Harness(log: log);
        // 5,000 malformed messages over 50 s (one every 10 ms): five 10 s intervals of at most 5 lines each.
        for (var i = 0; i < 5000; i++)
            h.Layer.IngestTelemetry("speed_kmh", """{"value": 1, "value": 120}"""u8, Harness.At(i * 10L));
        // And one of another reason in the middle: its own budget.
        h.Layer.IngestTelemetry("speed_kmh", """{"value": "fast"}"""u8, Harness.At(25_000));

        var lines = log.Lines.Where(l => l.Contains("telemetry rejected", StringComparison.Ordinal)).ToList();
        Assert.Equal(5000, h.Layer.Counters.Get("telemetry_rejected.malformed"));
        Assert.Equal(1, h.Layer.Counters.Get("telemetry_rejected.wrong_type"));
        Assert.Equal(26, lines.Count);
        Assert.Equal(25, lines.Count(l => l.Contains("(malformed)", StringComparison.Ordinal)));
        Assert.Equal("Warning telemetry rejected (malformed): speed_kmh: duplicate key 'value'", lines[0]);
        Assert.Equal("Warning telemetry rejected (malformed): speed_kmh: duplicate key 'value' (and 995 more since the last line)", lines[5]);
    }

    [Theory]
    [InlineData(-2000, true)]        // a step back within the window (a slewed clock) keeps the parked state
    [InlineData(-2001, false)]       // beyond it the state's age is unknown: the gate refuses
    [InlineData(-3_600_000, false)]  // the probe's case: parked from before a 1 h step back, while the car drove off
    public void State_received_before_our_clock_stepped_back_beyond_the_window_is_not_trusted(long stepMs, bool allowed)
    {
        var h = new Harness();
        Assert.True(h.Set("speed_kmh", 0, 0).Accepted);
        Assert.True(h.Gear("P", 0).Accepted);
        var decision = h.Layer.Gate(Harness.Command("VIDEO_PLAY"), "u1", "zh", Harness.At(stepMs));
        Assert.Equal(allowed, decision is GateAllow);
        if (!allowed) Assert.IsType<GateRefuse>(decision);
    }
}
