using System.Text.Json.Nodes;

namespace CabinAgent.Safety.Tests;

public class GateTests
{
    private static Harness Moving(double speed, string gear = "D", long ms = 0)
    {
        var h = new Harness();
        h.Set("speed_kmh", speed, ms);
        h.Gear(gear, ms);
        return h;
    }

    [Theory]
    [InlineData(0, "P", true)]
    [InlineData(0, "D", false)]
    [InlineData(0.5, "P", false)]
    [InlineData(60, "D", false)]
    public void Video_plays_only_parked_in_P(double speed, string gear, bool allowed)
    {
        var h = Moving(speed, gear);
        var decision = h.Layer.Gate(Harness.Command("VIDEO_PLAY"), "u1", "zh", Harness.At(0));
        if (allowed)
        {
            Assert.IsType<GateAllow>(decision);
            return;
        }
        var refuse = Assert.IsType<GateRefuse>(decision);
        Assert.Equal("video_while_moving", refuse.Rule);
        Assert.Equal("为了行车安全，视频只能在停车挂P挡时播放。", refuse.Spoken);
        Assert.Equal(1, h.Layer.Counters.Get("gate_refused.video_while_moving"));
    }

    [Fact]
    public void A_refusal_is_explained_in_the_drivers_language()
    {
        var h = Moving(60);
        var refuse = Assert.IsType<GateRefuse>(h.Layer.Gate(Harness.Command("VIDEO_PLAY", lang: "en"), "u1", "en", Harness.At(0)));
        Assert.Equal("For your safety, video can only play when parked in P.", refuse.Spoken);
        Assert.Contains("60", refuse.Reason);
    }

    [Theory]
    [InlineData("DOOR_UNLOCK", 5, false, "door_while_moving")]
    [InlineData("DOOR_UNLOCK", 5.1, true, "door_while_moving")]
    [InlineData("TRUNK_OPEN", 3, false, "trunk_while_moving")]
    [InlineData("TRUNK_OPEN", 3.1, true, "trunk_while_moving")]
    public void Doors_and_trunk_are_refused_above_their_speed(string action, double speed, bool refused, string rule)
    {
        var h = Moving(speed);
        var decision = h.Layer.Gate(Harness.Command(action), "u1", "zh", Harness.At(0));
        if (!refused)
        {
            Assert.IsType<GateAskConfirmation>(decision); // allowed by speed, but the catalog asks first
            return;
        }
        var refuse = Assert.IsType<GateRefuse>(decision);
        Assert.Equal(rule, refuse.Rule);
        Assert.Contains(((int)Math.Round(speed)).ToString(), refuse.Spoken);
    }

    [Fact]
    public void Stale_speed_refuses_rather_than_guessing_parked()
    {
        var h = Moving(0, "P");
        h.Advance(10_000);
        var refuse = Assert.IsType<GateRefuse>(h.Layer.Gate(Harness.Command("DOOR_UNLOCK"), "u1", "zh", Harness.At(10_000)));
        Assert.Equal("door_while_moving", refuse.Rule);
        Assert.StartsWith("vehicle state unknown: speed_kmh is stale", refuse.Reason);
        Assert.Equal("暂时无法确认车辆状态，为安全起见，这个操作先不执行。", refuse.Spoken);
    }

    [Theory]
    [InlineData(80, 100, 100, false)]
    [InlineData(81, 100, 30, true)]
    [InlineData(81, 20, 20, false)]
    [InlineData(120, null, 30, true)]
    public void Window_opening_is_clamped_at_speed(double speed, int? percent, int expected, bool clamped)
    {
        var h = Moving(speed);
        var parameters = new JsonObject { ["position"] = "driver" };
        if (percent is { } p) parameters["percent"] = p;
        var allow = Assert.IsType<GateAllow>(h.Layer.Gate(Harness.Command("WINDOW_OPEN", parameters), "u1", "zh", Harness.At(0)));
        if (!clamped && percent is null)
        {
            Assert.Null(allow.Command.Parameters["percent"]);
            return;
        }
        Assert.Equal(expected.ToString(), allow.Command.Parameters["percent"]!.ToJsonString());
        Assert.Equal(clamped ? 1 : 0, allow.Notes.Count);
        if (clamped)
        {
            Assert.StartsWith("window_limit_at_speed: percent", allow.Notes[0]);
            Assert.Equal("主驾车窗已打开30%（车速较高，车窗最多打开30%）", allow.Command.Response);
            Assert.Equal(percent is null ? null : (int?)100, parameters["percent"]?.GetValue<int>()); // the input is not mutated
        }
    }

    [Theory]
    [InlineData(0, 100, 100)]
    [InlineData(1, 100, 85)]
    [InlineData(1, 85, 85)]
    public void Volume_is_capped_while_moving(double speed, int level, int expected)
    {
        var h = Moving(speed);
        var allow = Assert.IsType<GateAllow>(h.Layer.Gate(
            Harness.Command("VOLUME_SET", new JsonObject { ["level"] = level }, "en"), "u1", "en", Harness.At(0)));
        Assert.Equal(expected.ToString(), allow.Command.Parameters["level"]!.ToJsonString());
        if (expected < level)
            Assert.Equal("Volume set to 85 (capped at 85 while driving so you can hear sirens)", allow.Command.Response);
    }

    [Theory]
    [InlineData(60, "all", false)]
    [InlineData(61, "all", true)]
    [InlineData(100, "driver", false)]
    public void Opening_all_windows_at_speed_needs_confirmation(double speed, string position, bool asks)
    {
        var h = Moving(speed);
        var decision = h.Layer.Gate(Harness.Command("WINDOW_OPEN", new JsonObject { ["position"] = position, ["percent"] = 20 }),
            "u1", "zh", Harness.At(0));
        Assert.IsType(asks ? typeof(GateAskConfirmation) : typeof(GateAllow), decision);
    }

    [Fact]
    public void Emergency_call_is_never_gated()
    {
        var h = new Harness(); // no telemetry at all
        var command = Harness.Command("EMERGENCY_CALL", new JsonObject { ["service"] = "general" });
        var allow = Assert.IsType<GateAllow>(h.Layer.Gate(command, "u1", "zh", Harness.At(0)));
        Assert.Same(command, allow.Command);
    }

    [Fact]
    public void Ordinary_commands_pass_unchanged()
    {
        var h = Moving(100);
        var command = Harness.Command("MUSIC_PLAY", new JsonObject { ["artist"] = "周杰伦", ["song"] = "夜曲" });
        var allow = Assert.IsType<GateAllow>(h.Layer.Gate(command, "u1", "zh", Harness.At(0)));
        Assert.Same(command, allow.Command);
        Assert.Empty(allow.Notes);
    }
}

public class ConfirmationTests
{
    private static Harness Parked()
    {
        var h = new Harness();
        h.Set("speed_kmh", 0, 0);
        h.Gear("P", 0);
        return h;
    }

    private static GateAskConfirmation Ask(Harness h, string lang = "zh", long ms = 0)
    {
        h.Set("speed_kmh", 0, ms);
        var ask = Assert.IsType<GateAskConfirmation>(h.Layer.Gate(Harness.Command("DOOR_UNLOCK", lang: lang), "u1", lang, Harness.At(ms)));
        Assert.True(h.Layer.AwaitingConfirmation);
        return ask;
    }

    [Fact]
    public void Asks_with_the_configured_question()
    {
        var h = Parked();
        var ask = Ask(h);
        Assert.Equal("确定要解锁车门吗？请说“确认”或“取消”。", ask.Spoken);
        Assert.True(ask.Command.RequiresConfirmation);
        Assert.Equal(1, h.Layer.Counters.Get("confirmation_asked"));
    }

    [Theory]
    [InlineData("确认", "zh")]
    [InlineData("好的", "zh")]
    [InlineData("好的，打开吧", "zh")]
    [InlineData("是的", "zh")]
    [InlineData("可以", "zh")]
    [InlineData("好", "zh")]
    [InlineData("Yes", "en")]
    [InlineData("ok", "en")]
    [InlineData("sure, go ahead", "en")]
    [InlineData("Confirm.", "en")]
    [InlineData("no problem", "en")]
    public void A_yes_executes_the_command(string answer, string lang)
    {
        var h = Parked();
        Ask(h, lang);
        var result = Assert.IsType<ConfirmationAnswered>(h.Layer.PreCheck("u2", answer, lang, Harness.At(2000)));
        Assert.NotNull(result.Command);
        Assert.Equal("DOOR_UNLOCK", result.Command!.Action);
        Assert.Equal(lang == "en" ? "Doors unlocked" : "车门已解锁", result.Spoken);
        Assert.False(h.Layer.AwaitingConfirmation);
        Assert.Equal(1, h.Layer.Counters.Get("confirmation_accepted"));
    }

    [Theory]
    [InlineData("不要", "zh")]
    [InlineData("取消", "zh")]
    [InlineData("算了吧", "zh")]
    [InlineData("不可以", "zh")]
    [InlineData("no", "en")]
    [InlineData("cancel", "en")]
    [InlineData("No thanks", "en")]
    [InlineData("nope", "en")]
    public void A_no_cancels(string answer, string lang)
    {
        var h = Parked();
        Ask(h, lang);
        var result = Assert.IsType<ConfirmationAnswered>(h.Layer.PreCheck("u2", answer, lang, Harness.At(2000)));
        Assert.Null(result.Command);
        Assert.Equal(lang == "en" ? "OK, cancelled." : "好的，已取消。", result.Spoken);
        Assert.False(h.Layer.AwaitingConfirmation);
        Assert.Equal(1, h.Layer.Counters.Get("confirmation_declined"));
    }

    [Fact]
    public void Timeout_cancels_and_tells_the_driver()
    {
        var h = Parked();
        Ask(h);
        h.Advance(9_999);
        Assert.True(h.Layer.AwaitingConfirmation);
        h.Advance(10_000);
        Assert.False(h.Layer.AwaitingConfirmation);
        var notice = Assert.Single(h.Outbox.Notices);
        Assert.Equal("没有听到确认，操作已取消。", notice.Text);
        Assert.Equal("u1", notice.UtteranceId);
        Assert.Equal(Harness.At(10_000), notice.At);
        // A late yes is just a new utterance now.
        Assert.Same(PreCheckResult.Continue, h.Layer.PreCheck("u2", "确认", "zh", Harness.At(11_000)));
        Assert.Equal(1, h.Layer.Counters.Get("confirmation_timed_out"));
    }

    [Fact]
    public void A_late_yes_without_a_tick_still_times_out_first()
    {
        var h = Parked();
        Ask(h);
        // No Advance in between: PreCheck itself notices the expiry.
        Assert.Same(PreCheckResult.Continue, h.Layer.PreCheck("u2", "好的", "zh", Harness.At(10_500)));
        Assert.Single(h.Outbox.Notices);
    }

    [Theory]
    [InlineData("播放周杰伦的夜曲")]
    [InlineData("好冷啊")]
    [InlineData("ok play some jazz music now")]
    public void Anything_else_is_a_new_utterance_and_drops_the_question(string text)
    {
        var h = Parked();
        Ask(h);
        Assert.Same(PreCheckResult.Continue, h.Layer.PreCheck("u2", text, null, Harness.At(2000)));
        Assert.False(h.Layer.AwaitingConfirmation);
        Assert.Equal(1, h.Layer.Counters.Get("confirmation_abandoned"));
        Assert.Empty(h.Outbox.Notices);
    }

    [Fact]
    public void The_gate_rechecks_the_state_when_the_driver_confirms()
    {
        var h = Parked();
        Ask(h);
        h.Set("speed_kmh", 30, 1000); // the car moved off while the question was pending
        var result = Assert.IsType<ConfirmationAnswered>(h.Layer.PreCheck("u2", "确认", "zh", Harness.At(2000)));
        Assert.Null(result.Command);
        Assert.Equal("车辆行驶中（30公里每小时），无法解锁车门。", result.Spoken);
        Assert.Equal(1, h.Layer.Counters.Get("confirmation_refused_on_recheck"));
    }

    [Fact]
    public void An_emergency_during_a_question_wins_and_drops_the_question()
    {
        var h = Parked();
        Ask(h);
        var emergency = Assert.IsType<EmergencyDetected>(h.Layer.PreCheck("u2", "救命", "zh", Harness.At(1000)));
        Assert.Equal("EMERGENCY_CALL", emergency.Command.Action);
        Assert.False(h.Layer.AwaitingConfirmation);
    }

    [Fact]
    public void No_question_pending_means_yes_is_an_ordinary_utterance()
    {
        var h = Parked();
        Assert.Same(PreCheckResult.Continue, h.Layer.PreCheck("u1", "好的", "zh", Harness.At(0)));
    }
}
