

namespace CabinAgent.Safety.Tests;

/// <summary>Alert rules with the repository's thresholds: overspeed tolerance 5 km/h, hold 3 s, hysteresis 3 km/h,
/// re-alert 30 s; fatigue level ≥ 2, driving ≥ 120 min; belts and doors while moving.</summary>
public class AlertRuleTests
{
    private static Harness Driving(double speed, double limit)
    {
        var h = new Harness();
        h.Set("speed_limit_kmh", limit, 0);
        h.Set("speed_kmh", speed, 0);
        return h;
    }

    /// <summary>Keeps the speed fresh every second up to <paramref name="untilMs"/>.</summary>
    private static void Hold(Harness h, double speed, long fromMs, long untilMs)
    {
        for (var t = fromMs; t <= untilMs; t += 1000) h.Set("speed_kmh", speed, t);
    }

    [Theory]
    [InlineData(104.9, false)]
    [InlineData(105.0, false)] // exactly limit + tolerance: not over
    [InlineData(105.1, true)]
    public void Overspeed_fires_only_above_limit_plus_tolerance(double speed, bool fires)
    {
        var h = Driving(speed, 100);
        Hold(h, speed, 1000, 3000);
        Assert.Equal(fires ? 1 : 0, h.Alerts(AlertKinds.Overspeed).Count);
    }

    [Fact]
    public void Overspeed_waits_for_the_hold_time_and_reports_when_it_became_due()
    {
        var h = Driving(120, 100);
        h.Set("speed_kmh", 120, 1000);
        h.Set("speed_kmh", 120, 2000);
        h.Advance(2999);
        Assert.Empty(h.Alerts(AlertKinds.Overspeed));
        h.Advance(3000);
        var alert = Assert.Single(h.Alerts(AlertKinds.Overspeed));
        Assert.Equal(Harness.At(3000), alert.TriggeredAt);
        Assert.Equal(AlertSeverity.Warning, alert.Severity);
        Assert.Equal("overspeed", alert.Rule);
        Assert.Equal("""{"speed_kmh":120,"speed_limit_kmh":100}""", alert.State.ToJsonString());
        Assert.Equal("您已超速，当前车速120公里每小时，限速100，请减速慢行。", alert.SpokenZh);
        Assert.Equal("You are speeding: 120 km/h in a 100 zone. Please slow down.", alert.SpokenEn);
        Assert.Equal("zh", alert.Lang);
        Assert.False(alert.Repeat);
    }

    [Fact]
    public void Overspeed_hold_restarts_when_speed_dips_below_the_trigger()
    {
        var h = Driving(120, 100);
        h.Set("speed_kmh", 104, 2000); // below trigger (in the band): the hold restarts
        h.Set("speed_kmh", 120, 2500);
        Hold(h, 120, 3500, 5000);
        Assert.Empty(h.Alerts(AlertKinds.Overspeed));
        h.Set("speed_kmh", 120, 5500);
        Assert.Single(h.Alerts(AlertKinds.Overspeed));
        Assert.Equal(Harness.At(5500), h.Alerts(AlertKinds.Overspeed)[0].TriggeredAt);
    }

    [Fact]
    public void Overspeed_hysteresis_keeps_the_alert_active_in_the_band_and_realerts_after_the_interval()
    {
        var h = Driving(120, 100);
        Hold(h, 120, 1000, 3000);
        Assert.Single(h.Alerts(AlertKinds.Overspeed));
        // 103 km/h: below trigger (105) but above clear (102): still active, no new alert.
        Hold(h, 103, 4000, 10_000);
        Hold(h, 120, 11_000, 32_000);
        Assert.Single(h.Alerts(AlertKinds.Overspeed));
        h.Set("speed_kmh", 120, 33_000); // 30 s after the first alert
        var alerts = h.Alerts(AlertKinds.Overspeed);
        Assert.Equal(2, alerts.Count);
        Assert.True(alerts[1].Repeat);
        Assert.Equal(Harness.At(33_000), alerts[1].TriggeredAt);
    }

    [Fact]
    public void Overspeed_clears_at_the_clear_threshold_and_a_quick_return_is_not_repeated()
    {
        var h = Driving(120, 100);
        Hold(h, 120, 1000, 3000);
        h.Set("speed_kmh", 102, 4000); // ≤ 105 − 3: cleared
        Hold(h, 120, 5000, 9000);      // back over for > hold, but within 30 s of the last alert
        Assert.Single(h.Alerts(AlertKinds.Overspeed));
        Assert.Equal(1, h.Layer.Counters.Get("alerts_suppressed.overspeed"));
        Hold(h, 120, 10_000, 33_000);
        Assert.Equal(2, h.Alerts(AlertKinds.Overspeed).Count);
    }

    [Fact]
    public void Overspeed_escalates_to_critical_at_once()
    {
        var h = Driving(120, 100);
        Hold(h, 120, 1000, 3000);
        h.Set("speed_kmh", 130, 4000); // limit + 30: critical
        var alerts = h.Alerts(AlertKinds.Overspeed);
        Assert.Equal(2, alerts.Count);
        Assert.Equal(AlertSeverity.Critical, alerts[1].Severity);
    }

    [Fact]
    public void Overspeed_says_it_cannot_judge_with_stale_speed_or_no_posted_limit()
    {
        var h = Driving(120, 100);
        h.Advance(10_000); // speed stale after 2 s
        Assert.Empty(h.Alerts(AlertKinds.Overspeed));
        var status = h.Layer.RuleStatuses(Harness.At(10000)).Single(s => s.Rule == "overspeed");
        Assert.Equal(Condition.Unknown, status.Condition);
        Assert.StartsWith("speed_kmh is stale", status.Detail);
        Assert.Equal(1, h.Layer.Counters.Get("rule_state_unknown.overspeed"));

        var n = Driving(150, 0);
        Hold(n, 150, 1000, 5000);
        Assert.Empty(n.Alerts(AlertKinds.Overspeed));
        Assert.Equal("no posted speed limit", n.Layer.RuleStatuses(Harness.At(5000)).Single(s => s.Rule == "overspeed").Detail);
    }

    [Theory]
    [InlineData(1, 0, null)]
    [InlineData(2, 1, AlertSeverity.Warning)]
    [InlineData(3, 1, AlertSeverity.Critical)]
    public void Fatigue_level_at_threshold_alerts_and_suggests_a_rest_area(int level, int expected, AlertSeverity? severity)
    {
        var h = new Harness();
        h.Set("driver_fatigue_level", level, 0);
        var alerts = h.Alerts(AlertKinds.Fatigue);
        Assert.Equal(expected, alerts.Count);
        if (expected == 0) return;
        var alert = alerts[0];
        Assert.Equal(severity, alert.Severity);
        Assert.Equal("fatigue_level", alert.Rule);
        Assert.NotNull(alert.Suggested);
        Assert.Equal("NAV_FIND_NEARBY", alert.Suggested!.Action);
        Assert.Equal("""{"category":"rest_area"}""", alert.Suggested.Parameters.ToJsonString());
        Assert.Equal("正在为您查找附近的服务区", alert.Suggested.Response);
    }

    [Fact]
    public void Fatigue_level_hysteresis_clears_only_at_level_zero()
    {
        var h = new Harness();
        h.Set("driver_fatigue_level", 2, 0);
        h.Set("driver_fatigue_level", 1, 1000); // band: stays active
        h.Set("driver_fatigue_level", 2, 2000);
        Assert.Single(h.Alerts(AlertKinds.Fatigue));
        Assert.True(h.Layer.RuleStatuses(Harness.At(2000)).Single(s => s.Rule == "fatigue_level").Active);
        h.Set("driver_fatigue_level", 0, 3000);
        Assert.False(h.Layer.RuleStatuses(Harness.At(3000)).Single(s => s.Rule == "fatigue_level").Active);
    }

    [Fact]
    public void Fatigue_realerts_every_interval_while_the_level_stays_high()
    {
        var h = new Harness();
        var realert = h.Options.Alerts.Fatigue.RealertMs;
        for (long t = 0; t <= realert; t += 5000) h.Set("driver_fatigue_level", 2, t);
        var alerts = h.Alerts(AlertKinds.Fatigue);
        Assert.Equal(2, alerts.Count);
        Assert.Equal(Harness.At(realert), alerts[1].TriggeredAt);
    }

    [Theory]
    [InlineData(119.9, 0)]
    [InlineData(120, 1)]
    [InlineData(121, 1)]
    public void Continuous_driving_time_alerts_at_the_limit(double minutes, int expected)
    {
        var h = new Harness();
        h.Set("driving_minutes", minutes, 0);
        var alerts = h.Alerts(AlertKinds.Fatigue);
        Assert.Equal(expected, alerts.Count);
        if (expected == 1)
        {
            Assert.Equal("fatigue_driving_time", alerts[0].Rule);
            Assert.Equal("NAV_FIND_NEARBY", alerts[0].Suggested!.Action);
            Assert.Contains(((int)minutes).ToString(), alerts[0].SpokenZh);
        }
    }

    [Theory]
    [InlineData(9.9, 0)]
    [InlineData(10, 1)]
    [InlineData(30, 1)]
    public void Seatbelt_alerts_from_the_moving_speed_after_the_hold(double speed, int expected)
    {
        var h = new Harness();
        h.Set("seat_belt_driver", false, 0);
        h.Set("seat_belt_passenger", true, 0);
        for (long t = 0; t <= 3000; t += 1000)
        {
            h.Set("speed_kmh", speed, t);
            h.Set("seat_belt_driver", false, t);
            h.Set("seat_belt_passenger", true, t);
        }
        var alerts = h.Alerts(AlertKinds.SeatbeltUnfastened);
        Assert.Equal(expected, alerts.Count);
        if (expected == 1)
        {
            Assert.Equal("请系好安全带：主驾安全带未系。", alerts[0].SpokenZh);
            Assert.Equal("Please fasten your seat belt: driver belt unfastened.", alerts[0].SpokenEn);
        }
    }

    [Fact]
    public void Seatbelt_moving_state_has_hysteresis_and_clears_when_fastened()
    {
        var h = new Harness();
        void At(long t, double speed, bool driver)
        {
            h.Set("speed_kmh", speed, t);
            h.Set("seat_belt_driver", driver, t);
            h.Set("seat_belt_passenger", true, t);
        }
        At(0, 12, false);
        At(1000, 7, false); // between stopped (5) and moving (10): still moving
        At(2000, 7, false);
        At(3000, 7, false);
        Assert.Single(h.Alerts(AlertKinds.SeatbeltUnfastened));
        At(4000, 7, true);
        Assert.False(h.Layer.RuleStatuses(Harness.At(4000)).Single(s => s.Rule == "seatbelt_unfastened").Active);
        Assert.Equal("belts fastened", h.Layer.RuleStatuses(Harness.At(4000)).Single(s => s.Rule == "seatbelt_unfastened").Detail);
    }

    [Fact]
    public void Seatbelt_names_both_seats_and_a_stale_belt_signal_is_unknown()
    {
        var h = new Harness();
        for (long t = 0; t <= 3000; t += 1000)
        {
            h.Set("speed_kmh", 50, t);
            h.Set("seat_belt_driver", false, t);
            h.Set("seat_belt_passenger", false, t);
        }
        Assert.Equal("Please fasten your seat belt: driver and passenger belt unfastened.",
            Assert.Single(h.Alerts(AlertKinds.SeatbeltUnfastened)).SpokenEn);

        var s = new Harness();
        s.Set("seat_belt_driver", true, 0);
        for (long t = 0; t <= 10_000; t += 1000) s.Set("speed_kmh", 50, t);
        var status = s.Layer.RuleStatuses(Harness.At(10000)).Single(r => r.Rule == "seatbelt_unfastened");
        Assert.Equal(Condition.Unknown, status.Condition);
        Assert.Contains("seat_belt_driver is stale", status.Detail);
    }

    [Theory]
    [InlineData(4.9, 0)]
    [InlineData(5, 1)]
    public void Door_open_alerts_at_once_from_the_moving_speed(double speed, int expected)
    {
        var h = new Harness();
        h.Set("door_open", true, 0);
        h.Set("speed_kmh", speed, 0);
        var alerts = h.Alerts(AlertKinds.DoorOpenMoving);
        Assert.Equal(expected, alerts.Count);
        if (expected == 1)
        {
            Assert.Equal(AlertSeverity.Critical, alerts[0].Severity);
            Assert.Equal(Harness.At(0), alerts[0].TriggeredAt);
            Assert.Equal("""{"speed_kmh":5,"door_open":true}""", alerts[0].State.ToJsonString());
        }
    }

    [Fact]
    public void Alerts_speak_the_drivers_last_language()
    {
        var h = new Harness();
        h.Layer.PreCheck("u1", "play some jazz", "en", Harness.At(0));
        h.Set("door_open", true, 0);
        h.Set("speed_kmh", 40, 0);
        var alert = Assert.Single(h.Alerts(AlertKinds.DoorOpenMoving));
        Assert.Equal("en", alert.Lang);
        Assert.Equal(alert.SpokenEn, alert.Spoken);
    }

    [Fact]
    public void A_full_outbox_keeps_the_alert_due_and_retries_without_losing_it()
    {
        var h = new Harness();
        h.Outbox.Accepting = false;
        h.Set("door_open", true, 0);
        h.Set("speed_kmh", 40, 0);
        Assert.Equal(1, h.Layer.Counters.Get("alerts_queue_full.door_open_moving"));
        h.Outbox.Accepting = true;
        h.Set("speed_kmh", 40, 50); // within the 100 ms back-off: not yet
        Assert.Empty(h.Alerts(AlertKinds.DoorOpenMoving));
        h.Set("speed_kmh", 40, 150);
        var alert = Assert.Single(h.Alerts(AlertKinds.DoorOpenMoving));
        Assert.Equal(Harness.At(0), alert.TriggeredAt); // latency is measured from when it was due
    }

    [Fact]
    public void Options_validation_lists_every_problem()
    {
        var ex = Assert.Throws<SafetyConfigException>(() => Harness.OptionsWith(j =>
        {
            j["alerts"]!["overspeed"]!["hold_ms"] = -1;
            j["max_age_ms"]!.AsObject().Remove("gear");
            j["gate"]!["refuse"]![0]!["actions"] = new System.Text.Json.Nodes.JsonArray("EMERGENCY_CALL");
        }));
        Assert.Contains("alerts.overspeed.hold_ms must be within 0..10000", ex.Message);
        Assert.Contains("max_age_ms.gear missing", ex.Message);
        Assert.Contains("EMERGENCY_CALL is never gated", ex.Message);
    }
}
