using System.Text;
using System.Text.Json.Nodes;


namespace CabinAgent.Safety.Tests;

public class TelemetryTests
{
    [Fact]
    public void Accepts_a_well_formed_message_and_reads_it_back_fresh()
    {
        var h = new Harness();
        var result = h.Raw("speed_kmh", """{"value": 87.5, "ts_ms": 1700000000000}""", 0);
        Assert.True(result.Accepted);
        var reading = h.Layer.Read("speed_kmh", Harness.At(100));
        Assert.Equal(SignalStatus.Fresh, reading.Status);
        Assert.Equal(87.5, reading.Value);
        Assert.Equal(1, h.Layer.Counters.Get("telemetry_accepted.speed_kmh"));
    }

    [Fact]
    public void Topic_suffix_without_prefix_is_accepted_too()
    {
        var h = new Harness();
        var r = h.Layer.IngestTelemetry("gear", Encoding.UTF8.GetBytes("""{"value":"D"}"""), Harness.At(0));
        Assert.True(r.Accepted);
        Assert.Equal("D", h.Layer.Read("gear", Harness.At(0)).AsGear);
    }

    [Theory]
    [InlineData("vehicle/demo/telemetry/door_open", true)]
    [InlineData("telemetry/door_open", true)]
    [InlineData("door_open", true)]
    [InlineData("vehicle/demo/door_open", false)]
    [InlineData("vehicle/demo/xtelemetry/door_open", false)]
    public void Full_topics_and_suffixes_name_the_signal(string topic, bool accepted)
    {
        var h = new Harness();
        var r = h.Layer.IngestTelemetry(topic, Encoding.UTF8.GetBytes("{\"value\":true}"), Harness.At(0));
        Assert.Equal(accepted, r.Accepted);
        Assert.Equal(accepted ? TelemetryRejection.None : TelemetryRejection.UnknownSignal, r.Rejection);
    }

    [Theory]
    [InlineData("speed_kmh", "not json", TelemetryRejection.Malformed)]
    [InlineData("speed_kmh", "", TelemetryRejection.Malformed)]
    [InlineData("speed_kmh", "42", TelemetryRejection.Malformed)]
    [InlineData("speed_kmh", """{"ts_ms": 5}""", TelemetryRejection.Malformed)]
    [InlineData("speed_kmh", """{"value": 5, "ts_ms": -1}""", TelemetryRejection.Malformed)]
    [InlineData("speed_kmh", """{"value": 5, "ts_ms": "soon"}""", TelemetryRejection.Malformed)]
    [InlineData("speed_kmh", """{"value": 5} {"value": 6}""", TelemetryRejection.Malformed)]
    [InlineData("speed_kmh", """{"value": 1, "value": 120}""", TelemetryRejection.Malformed)]
    [InlineData("speed_kmh", """{"value": 1, "\u0076alue": 120}""", TelemetryRejection.Malformed)]
    [InlineData("speed_kmh", """{"value": 1, "ts_ms": 1, "ts_ms": 2}""", TelemetryRejection.Malformed)]
    [InlineData("speed_kmh", """{"value": 1, "src": "a", "src": "b"}""", TelemetryRejection.Malformed)]
    [InlineData("speed_kmh", """{"value": "fast"}""", TelemetryRejection.WrongType)]
    [InlineData("speed_kmh", """{"value": null}""", TelemetryRejection.WrongType)]
    [InlineData("speed_kmh", """{"value": -1}""", TelemetryRejection.OutOfRange)]
    [InlineData("speed_kmh", """{"value": 400.1}""", TelemetryRejection.OutOfRange)]
    [InlineData("driver_fatigue_level", """{"value": 2.5}""", TelemetryRejection.WrongType)]
    [InlineData("driver_fatigue_level", """{"value": 4}""", TelemetryRejection.OutOfRange)]
    [InlineData("seat_belt_driver", """{"value": 1}""", TelemetryRejection.WrongType)]
    [InlineData("gear", """{"value": "X"}""", TelemetryRejection.OutOfRange)]
    [InlineData("gear", """{"value": 3}""", TelemetryRejection.WrongType)]
    [InlineData("fuel_percent", """{"value": 101}""", TelemetryRejection.OutOfRange)]
    [InlineData("warp_factor", """{"value": 9}""", TelemetryRejection.UnknownSignal)]
    public void Rejects_bad_messages_with_a_reason_and_keeps_the_good_value(string signal, string payload, TelemetryRejection expected)
    {
        var h = new Harness();
        var good = TelemetrySignals.TryGet(signal, out var def) ? def.Kind switch
        {
            SignalKind.Boolean => """{"value": true}""",
            SignalKind.Gear => """{"value": "P"}""",
            _ => """{"value": 1}""",
        } : null;
        if (good is not null) Assert.True(h.Raw(signal, good, 0).Accepted);

        var result = h.Raw(signal, payload, 10);

        Assert.Equal(expected, result.Rejection);
        Assert.False(string.IsNullOrWhiteSpace(result.Reason));
        Assert.Equal(1, h.Layer.Counters.Get("telemetry_rejected." + VehicleStateStore.RejectionName(expected)));
        if (good is not null)
        {
            var reading = h.Layer.Read(signal, Harness.At(10));
            Assert.Equal(SignalStatus.Fresh, reading.Status);
            Assert.Equal(def!.Kind == SignalKind.Gear ? 0 : 1, reading.Value);
        }
    }

    [Fact]
    public void Out_of_order_source_timestamp_is_rejected_and_does_not_overwrite()
    {
        var h = new Harness();
        Assert.True(h.Raw("speed_kmh", """{"value": 50, "ts_ms": 2000}""", 0).Accepted);
        var late = h.Raw("speed_kmh", """{"value": 10, "ts_ms": 1999}""", 100);
        Assert.Equal(TelemetryRejection.OutOfOrder, late.Rejection);
        Assert.Equal(50, h.Layer.Read("speed_kmh", Harness.At(100)).Value);
        // Same timestamp is a repeat, not a reordering; a newer one is accepted.
        Assert.True(h.Raw("speed_kmh", """{"value": 51, "ts_ms": 2000}""", 150).Accepted);
        Assert.True(h.Raw("speed_kmh", """{"value": 52, "ts_ms": 2001}""", 200).Accepted);
        Assert.Equal(52, h.Layer.Read("speed_kmh", Harness.At(200)).Value);
        Assert.Equal(1, h.Layer.Counters.Get("telemetry_rejected.out_of_order"));
    }

    [Theory]
    [InlineData("""{"value": 1, "value": 120}""", "speed_kmh: duplicate key 'value'")]
    [InlineData("""{"value": 1, "\u0076alue": 120}""", "speed_kmh: duplicate key 'value'")]
    [InlineData("""{"ts_ms": 1, "value": 1, "ts_ms": 2}""", "speed_kmh: duplicate key 'ts_ms'")]
    [InlineData("""{"value": 1, "src": {"a": 1}, "src": 2}""", "speed_kmh: duplicate key 'src'")]
    public void Duplicate_keys_are_malformed_whichever_would_win(string payload, string reason)
    {
        var h = new Harness();
        var result = h.Raw("speed_kmh", payload, 0);
        Assert.Equal((TelemetryRejection.Malformed, reason), (result.Rejection, result.Reason));
        Assert.Equal(SignalStatus.Missing, h.Layer.Read("speed_kmh", Harness.At(0)).Status);
    }

    [Fact]
    public void A_key_that_is_not_valid_utf8_is_malformed_not_a_crash()
    {
        // Found by ParserFuzzTests: {"valu\xE1lue":1e-4 — the reader only checks a key's UTF-8 when it is decoded.
        byte[] payload = [123, 34, 118, 97, 108, 117, 118, 225, 108, 117, 101, 34, 58, 49, 101, 45, 52, 125];
        var h = new Harness();
        var result = h.Layer.IngestTelemetry("driver_fatigue_level", payload, Harness.At(0));
        Assert.Equal((TelemetryRejection.Malformed, "driver_fatigue_level: a key is not valid UTF-8"), (result.Rejection, result.Reason));
    }

    [Fact]
    public void Repeated_keys_inside_an_ignored_member_are_not_duplicates()
    {
        var h = new Harness();
        Assert.True(h.Raw("speed_kmh", """{"value": 1, "meta": {"src": 1}, "meta2": {"src": 2}}""", 0).Accepted);
    }

    [Fact]
    public void A_signal_is_stale_after_its_max_age_and_missing_before_it_is_received()
    {
        var h = new Harness();
        var maxAge = h.Options.MaxAgeMs["speed_kmh"];
        Assert.Equal(SignalStatus.Missing, h.Layer.Read("speed_kmh", Harness.At(0)).Status);
        h.Set("speed_kmh", 30, 0);
        Assert.Equal(SignalStatus.Fresh, h.Layer.Read("speed_kmh", Harness.At(maxAge)).Status);
        Assert.Equal(SignalStatus.Stale, h.Layer.Read("speed_kmh", Harness.At(maxAge + 1)).Status);
    }

    [Fact]
    public void Snapshot_applies_each_signal_and_rejects_bad_entries_individually()
    {
        var h = new Harness();
        var state = JsonNode.Parse("""
            {"speed_kmh": 60, "gear": "D", "seat_belt_driver": true, "driver_fatigue_level": 7,
             "door_open": {"value": false, "ts_ms": 5}, "bogus": 1}
            """)!.AsObject();
        var results = h.Layer.ApplySnapshot(state, Harness.At(0));
        Assert.Equal(6, results.Count);
        Assert.Equal(4, results.Count(r => r.Accepted));
        Assert.Contains(results, r => r.Rejection == TelemetryRejection.OutOfRange && r.Signal!.Name == "driver_fatigue_level");
        Assert.Contains(results, r => r.Rejection == TelemetryRejection.UnknownSignal);
        var snapshot = h.Layer.StateSnapshot(Harness.At(0));
        Assert.Equal("""{"speed_kmh":60,"gear":"D","seat_belt_driver":true,"door_open":false}""", snapshot.ToJsonString());
    }

    [Fact]
    public void A_flood_of_garbage_never_throws_and_is_counted()
    {
        var h = new Harness();
        var random = new Random(1234);
        var buffer = new byte[64];
        for (var i = 0; i < 5000; i++)
        {
            random.NextBytes(buffer);
            var signal = TelemetrySignals.All[i % TelemetrySignals.All.Count].Name;
            var r = h.Layer.IngestTelemetry(signal, buffer.AsSpan(0, i % 64), Harness.At(i));
            Assert.False(r.Accepted);
        }
        var rejected = h.Layer.Counters.Snapshot().Where(kv => kv.Key.StartsWith("telemetry_rejected.")).Sum(kv => kv.Value);
        Assert.Equal(5000, rejected);
    }
}

public class AllocationTests
{
    [Fact]
    public void Steady_telemetry_allocates_next_to_nothing_per_message()
    {
        var h = new Harness();
        var payloads = Enumerable.Range(0, 10).Select(i => System.Text.Encoding.UTF8.GetBytes($"{{\"value\": {60 + i}}}")).ToArray();
        h.Set("speed_limit_kmh", 100, 0);
        h.Set("seat_belt_driver", true, 0);
        h.Set("seat_belt_passenger", true, 0);
        h.Set("door_open", false, 0);
        for (var i = 0; i < 1000; i++) // warm-up: counters' first use, JIT
            h.Layer.IngestTelemetry("telemetry/speed_kmh", payloads[i % 10], Harness.At(i));

        var before = GC.GetAllocatedBytesForCurrentThread();
        const int messages = 20_000;
        for (var i = 0; i < messages; i++)
            h.Layer.IngestTelemetry("telemetry/speed_kmh", payloads[i % 10], Harness.At(1000 + i / 10));
        var perMessage = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)messages;

        // Parsing, state, the cheap rule pass and counters allocate nothing; the slack is for the runtime's own bookkeeping.
        Assert.True(perMessage < 8, $"{perMessage:F1} bytes per message");
    }
}
