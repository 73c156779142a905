using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CabinAgent.Actions;

namespace CabinAgent.Safety;

/// <summary>
/// Feeds a recorded trace (JSON lines) through the safety layer deterministically, with the clock driven by each
/// line's <c>t_ms</c>, and writes every alert, notice, rejection and decision as a JSON line. Understood lines:
/// <list type="bullet">
/// <item><c>{"t_ms", "topic": "telemetry/&lt;signal&gt;", "payload": {"value", "ts_ms"?}, "retained"?: true}</c> — a
/// telemetry message (<c>retained</c>: as the broker's retained copy delivered on subscribing);</item>
/// <item><c>{"t_ms", "vehicle_state": {signal: value, …}}</c> — a snapshot applied at <c>t_ms</c>;</item>
/// <item><c>{"t_ms", "text", "lang"?, "utterance_id"?, "command"?}</c> — an utterance: PreCheck, then (when the line
/// carries the command a tier produced and PreCheck said continue) the gate.</item>
/// </list>
/// Other lines are reported as <see cref="TraceLineKind.Other"/> for the caller (the Host's replay mixes its own).
/// Lines must be in time order; one going back in time is processed at the current time and flagged.
/// </summary>
public sealed class SafetyTraceRunner
{
    private readonly SafetyLayer _layer;
    private readonly RecordingOutbox _outbox;
    private readonly SafetyReplayClock _clock;
    private readonly TextWriter _output;
    private int _utterances;

    private static readonly JsonSerializerOptions OutputJson = new(CommandJson.Options) { WriteIndented = false };

    /// <param name="outbox">The outbox the layer was built with; the runner prints and empties it after each line.</param>
    public SafetyTraceRunner(SafetyLayer layer, RecordingOutbox outbox, SafetyReplayClock clock, TextWriter output)
    {
        _layer = layer;
        _outbox = outbox;
        _clock = clock;
        _output = output;
    }

    /// <summary>Builds a layer on a replay clock starting at <paramref name="startUnixMs"/>, with an in-memory outbox.</summary>
    public static SafetyTraceRunner Create(SafetyOptions options, EmergencyDetector detector, ActionCatalog catalog,
        TextWriter output, long startUnixMs = 0)
    {
        var clock = new SafetyReplayClock(startUnixMs);
        var outbox = new RecordingOutbox();
        var layer = new SafetyLayer(options, detector, catalog, outbox, clock);
        return new SafetyTraceRunner(layer, outbox, clock, output);
    }

    public SafetyLayer Layer => _layer;

    public SafetyReplayClock Clock => _clock;

    /// <summary>Moves the layer's time to <paramref name="tMs"/> (evaluating every due time on the way) and prints what fired.</summary>
    public void AdvanceTo(long tMs)
    {
        var t = DateTimeOffset.FromUnixTimeMilliseconds(tMs);
        if (t < _clock.GetUtcNow())
        {
            Write(new JsonObject { ["t_ms"] = tMs, ["event"] = "trace_out_of_order", ["reason"] = "line is older than the previous one" });
            t = _clock.GetUtcNow();
        }
        // Step through due times so each alert is printed with the time it fired.
        while (_layer.NextDue() is { } due && due <= t)
        {
            _clock.SetUtcNow(due);
            var before = due;
            _layer.Tick(due);
            Flush();
            if (_layer.NextDue() == before) break;
        }
        _clock.SetUtcNow(t);
        _layer.Tick(t);
        Flush();
    }

    public TraceLineKind ProcessLine(string line)
    {
        if (string.IsNullOrWhiteSpace(line)) return TraceLineKind.Blank;
        JsonObject? obj;
        try
        {
            obj = JsonNode.Parse(line) as JsonObject;
        }
        catch (JsonException ex)
        {
            Write(new JsonObject { ["event"] = "trace_line_invalid", ["reason"] = ex.Message });
            return TraceLineKind.Invalid;
        }
        if (obj is null || obj["t_ms"] is not JsonValue tv || !tv.TryGetValue<long>(out var tMs))
        {
            Write(new JsonObject { ["event"] = "trace_line_invalid", ["reason"] = "not an object with an integer t_ms" });
            return TraceLineKind.Invalid;
        }
        AdvanceTo(tMs);
        var now = _clock.GetUtcNow();

        if (obj["topic"] is JsonValue topicValue && topicValue.TryGetValue<string>(out var topic))
        {
            var payload = Encoding.UTF8.GetBytes(obj["payload"]?.ToJsonString() ?? "");
            var origin = obj["retained"] is JsonValue rv && rv.TryGetValue<bool>(out var retained) && retained
                ? TelemetryOrigin.Retained : TelemetryOrigin.Live;
            var result = _layer.IngestTelemetry(topic, payload, now, origin);
            if (!result.Accepted)
                Write(new JsonObject
                {
                    ["t_ms"] = tMs, ["event"] = "telemetry_rejected", ["topic"] = topic,
                    ["rejection"] = VehicleStateStore.RejectionName(result.Rejection), ["reason"] = result.Reason,
                });
            Flush();
            return TraceLineKind.Telemetry;
        }
        if (obj["vehicle_state"] is JsonObject state)
        {
            foreach (var r in _layer.ApplySnapshot(state, now))
                if (!r.Accepted)
                    Write(new JsonObject
                    {
                        ["t_ms"] = tMs, ["event"] = "telemetry_rejected", ["topic"] = r.Signal?.Name,
                        ["rejection"] = VehicleStateStore.RejectionName(r.Rejection), ["reason"] = r.Reason,
                    });
            Flush();
            if (obj["text"] is null) return TraceLineKind.Snapshot;
        }
        if (obj["text"] is JsonValue textValue && textValue.TryGetValue<string>(out var text))
        {
            var id = obj["utterance_id"]?.GetValue<string>() ?? string.Create(CultureInfo.InvariantCulture, $"u{++_utterances}");
            var lang = obj["lang"]?.GetValue<string>();
            var pre = _layer.PreCheck(id, text, lang, now);
            Write(Describe(tMs, id, pre));
            if (pre == PreCheckResult.Continue && obj["command"] is JsonObject commandJson)
            {
                var command = commandJson.Deserialize<VehicleCommand>(CommandJson.Options);
                if (command is not null)
                    Write(Describe(tMs, id, _layer.Gate(command, id, lang ?? _layer.DriverLang, now)));
            }
            Flush();
            return TraceLineKind.Utterance;
        }
        return TraceLineKind.Other;
    }

    /// <summary>Runs a whole trace; returns the number of lines by kind.</summary>
    public IReadOnlyDictionary<TraceLineKind, int> Run(TextReader trace)
    {
        var counts = new Dictionary<TraceLineKind, int>();
        while (trace.ReadLine() is { } line)
        {
            var kind = ProcessLine(line);
            counts[kind] = counts.GetValueOrDefault(kind) + 1;
        }
        return counts;
    }

    /// <summary>Prints what the layer queued (alerts, notices) since the last flush.</summary>
    public void Flush()
    {
        foreach (var item in _outbox.Drain())
        {
            switch (item)
            {
                case SafetyAlert alert:
                    var json = alert.ToJson();
                    json.Insert(0, "event", "alert");
                    json.Insert(0, "t_ms", alert.TriggeredAt.ToUnixTimeMilliseconds());
                    Write(json);
                    break;
                case SpokenNotice notice:
                    Write(new JsonObject
                    {
                        ["t_ms"] = notice.At.ToUnixTimeMilliseconds(), ["event"] = "notice", ["reason"] = notice.Reason,
                        ["utterance_id"] = notice.UtteranceId, ["lang"] = notice.Lang, ["spoken"] = notice.Text,
                    });
                    break;
            }
        }
    }

    public static JsonObject Describe(long tMs, string utteranceId, PreCheckResult result) => result switch
    {
        EmergencyDetected e => new JsonObject
        {
            ["t_ms"] = tMs, ["event"] = "precheck", ["utterance_id"] = utteranceId, ["outcome"] = "emergency",
            ["matched"] = e.MatchedPhrase, ["command"] = e.Command.ToJsonObject(),
        },
        ConfirmationAnswered c => new JsonObject
        {
            ["t_ms"] = tMs, ["event"] = "precheck", ["utterance_id"] = utteranceId,
            ["outcome"] = c.Command is null ? "confirmation_cancelled" : "confirmation_accepted",
            ["spoken"] = c.Spoken, ["command"] = c.Command?.ToJsonObject(),
        },
        EmergencyQuestion q => new JsonObject
        {
            ["t_ms"] = tMs, ["event"] = "precheck", ["utterance_id"] = utteranceId, ["outcome"] = "emergency_question",
            ["situation"] = q.Situation, ["service"] = q.Service, ["spoken"] = q.Spoken,
        },
        _ => new JsonObject { ["t_ms"] = tMs, ["event"] = "precheck", ["utterance_id"] = utteranceId, ["outcome"] = "continue" },
    };

    public static JsonObject Describe(long tMs, string utteranceId, GateDecision decision) => decision switch
    {
        GateAllow a => new JsonObject
        {
            ["t_ms"] = tMs, ["event"] = "gate", ["utterance_id"] = utteranceId, ["decision"] = "allow",
            ["notes"] = new JsonArray(a.Notes.Select(n => (JsonNode)JsonValue.Create(n)!).ToArray()), ["command"] = a.Command.ToJsonObject(),
        },
        GateRefuse r => new JsonObject
        {
            ["t_ms"] = tMs, ["event"] = "gate", ["utterance_id"] = utteranceId, ["decision"] = "refuse",
            ["rule"] = r.Rule, ["reason"] = r.Reason, ["spoken"] = r.Spoken,
        },
        GateAskConfirmation q => new JsonObject
        {
            ["t_ms"] = tMs, ["event"] = "gate", ["utterance_id"] = utteranceId, ["decision"] = "ask_confirmation",
            ["spoken"] = q.Spoken, ["command"] = q.Command.ToJsonObject(),
        },
        _ => new JsonObject { ["t_ms"] = tMs, ["event"] = "gate", ["utterance_id"] = utteranceId, ["decision"] = "unknown" },
    };

    private void Write(JsonObject json) => _output.WriteLine(json.ToJsonString(OutputJson));
}

public enum TraceLineKind { Blank, Invalid, Telemetry, Snapshot, Utterance, Other }
