using System.Text.Json.Nodes;

namespace CabinAgent.Safety.Tests;

public class ReplayTests
{
    private static string TracePath(string name = "trace-highway.jsonl") => Path.Combine(AppContext.BaseDirectory, "data", name);

    private static List<JsonObject> Replay(out IReadOnlyDictionary<TraceLineKind, int> counts, string trace = "trace-highway.jsonl")
    {
        var output = new StringWriter();
        var runner = SafetyTraceRunner.Create(Harness.LoadOptions(), Harness.Detector, Harness.Catalog, output, 1_700_000_000_000);
        using var reader = new StreamReader(TracePath(trace));
        counts = runner.Run(reader);
        return output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
    }

    [Fact]
    public void The_same_trace_gives_the_same_output_twice()
    {
        var first = string.Join("\n", Replay(out _).Select(e => e.ToJsonString()));
        var second = string.Join("\n", Replay(out _).Select(e => e.ToJsonString()));
        Assert.Equal(first, second);
    }

    [Fact]
    public void Every_alert_and_decision_of_the_highway_trace_is_printed_at_its_time()
    {
        var events = Replay(out var counts);
        Assert.Equal(15, counts[TraceLineKind.Telemetry]);
        Assert.Equal(1, counts[TraceLineKind.Snapshot]);
        Assert.Equal(5, counts[TraceLineKind.Utterance]);

        string Summary(JsonObject e) => e["event"]!.GetValue<string>() switch
        {
            "alert" => $"{e["t_ms"]} alert {e["kind"]} {e["severity"]}",
            "gate" => $"{e["t_ms"]} gate {e["decision"]} {e["rule"]}".TrimEnd(),
            "precheck" => $"{e["t_ms"]} precheck {e["outcome"]}",
            "telemetry_rejected" => $"{e["t_ms"]} rejected {e["rejection"]}",
            var other => $"{e["t_ms"]} {other}",
        };
        var expected = new[]
        {
            "1700000000500 precheck continue",
            "1700000000500 gate ask_confirmation",
            "1700000001500 precheck confirmation_accepted",
            "1700000003100 rejected out_of_order",
            "1700000004500 precheck continue",
            "1700000004500 gate refuse video_while_moving",
            "1700000005500 rejected wrong_type",
            // 112 km/h since t=3000 with limit 100 + 5: due at 6000 (hold 3 s).
            "1700000006000 alert overspeed warning",
            "1700000007000 alert fatigue warning",
            "1700000008000 precheck continue",
            "1700000009000 precheck emergency",
            // Belt open since 10500 at 90 km/h: due at 13500 (hold 3 s), between two trace lines.
            "1700000013500 alert seatbelt_unfastened warning",
        };
        Assert.Equal(expected, events.Select(Summary).ToArray());

        var emergency = events.Single(e => e["outcome"]?.GetValue<string>() == "emergency");
        Assert.Equal("""{"service":"ambulance"}""", emergency["command"]!["parameters"]!.ToJsonString());
        var fatigue = events.Single(e => e["kind"]?.GetValue<string>() == "fatigue");
        Assert.Equal("NAV_FIND_NEARBY", fatigue["suggested"]!["action"]!.GetValue<string>());
    }

    [Fact]
    public void A_first_speed_line_stamped_at_int64_max_is_rejected_and_the_real_lines_raise_their_alerts()
    {
        var events = Replay(out var counts, "trace-future-ts.jsonl");
        Assert.Equal(11, counts[TraceLineKind.Telemetry]);
        var expected = new[]
        {
            "1700000000000 rejected future speed_kmh: ts_ms 9223372036854775807 is more than 2000 ms ahead of the agent's clock (1700000000000)",
            "1700000000000 alert telemetry_clock_fault info",
            "1700000000000 rejected future gear: ts_ms 9223372036854775807 is more than 2000 ms ahead of the agent's clock (1700000000000)",
            "1700000000000 alert telemetry_clock_fault info",
            // 120 km/h in a 60 zone with a door open and the driver's belt off, from t=1000.
            "1700000001000 alert door_open_moving critical",
            "1700000004000 alert overspeed critical",
            "1700000004000 alert seatbelt_unfastened warning",
        };
        Assert.Equal(expected, events.Select(e => e["event"]!.GetValue<string>() == "alert"
            ? $"{e["t_ms"]} alert {e["kind"]} {e["severity"]}"
            : $"{e["t_ms"]} rejected {e["rejection"]} {e["reason"]}").ToArray());
        Assert.Equal("""{"speed_kmh":120,"speed_limit_kmh":60}""", events.Single(e => e["kind"]?.GetValue<string>() == "overspeed")["state"]!.ToJsonString());
    }

    [Fact]
    public void A_retained_trace_line_is_judged_as_the_brokers_copy()
    {
        var output = new StringWriter();
        var runner = SafetyTraceRunner.Create(Harness.LoadOptions(), Harness.Detector, Harness.Catalog, output);
        Assert.Equal(TraceLineKind.Telemetry, runner.ProcessLine(
            """{"t_ms": 10000, "topic": "telemetry/speed_kmh", "payload": {"value": 0, "ts_ms": 1000}, "retained": true}"""));
        Assert.Equal(TraceLineKind.Telemetry, runner.ProcessLine(
            """{"t_ms": 10000, "topic": "telemetry/gear", "payload": {"value": "P", "ts_ms": 1000}, "retained": false}"""));
        Assert.Equal(
            """{"t_ms":10000,"event":"telemetry_rejected","topic":"telemetry/speed_kmh","rejection":"retained_stale","reason":"speed_kmh: retained value is 9000 ms old (ts_ms 1000, max age 2000 ms)"}""",
            output.ToString().Trim());
    }

    [Fact]
    public void Bad_trace_lines_are_reported_not_fatal()
    {
        var output = new StringWriter();
        var runner = SafetyTraceRunner.Create(Harness.LoadOptions(), Harness.Detector, Harness.Catalog, output);
        Assert.Equal(TraceLineKind.Invalid, runner.ProcessLine("{not json"));
        Assert.Equal(TraceLineKind.Invalid, runner.ProcessLine("""{"topic": "telemetry/speed_kmh"}"""));
        Assert.Equal(TraceLineKind.Other, runner.ProcessLine("""{"t_ms": 5, "something": "else"}"""));
        Assert.Equal(TraceLineKind.Telemetry, runner.ProcessLine("""{"t_ms": 4, "topic": "telemetry/speed_kmh", "payload": {"value": 1}}"""));
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.Contains("trace_line_invalid", lines[0]);
        Assert.Contains("trace_line_invalid", lines[1]);
        Assert.Contains("trace_out_of_order", lines[2]);
    }

    [Fact]
    public void Replay_clock_fires_timers_only_when_advanced()
    {
        var clock = new SafetyReplayClock(0);
        var fired = 0;
        using var timer = clock.CreateTimer(_ => fired++, null, TimeSpan.FromMilliseconds(100), Timeout.InfiniteTimeSpan);
        clock.Advance(TimeSpan.FromMilliseconds(99));
        Assert.Equal(0, fired);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, fired);
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(1, fired);
    }
}
