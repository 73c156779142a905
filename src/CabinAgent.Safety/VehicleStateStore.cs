using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CabinAgent.Safety;

public enum TelemetryRejection
{
    None,
    /// <summary>The topic suffix is not a known signal.</summary>
    UnknownSignal,
    /// <summary>Not a JSON object with a <c>value</c>, or broken JSON.</summary>
    Malformed,
    /// <summary><c>value</c> has the wrong JSON type for the signal (e.g. a string for speed).</summary>
    WrongType,
    /// <summary>Outside the signal's plausible range.</summary>
    OutOfRange,
    /// <summary>Source <c>ts_ms</c> older than the one already stored.</summary>
    OutOfOrder,
}

public readonly record struct IngestResult(TelemetryRejection Rejection, string? Reason, SignalDefinition? Signal)
{
    public bool Accepted => Rejection == TelemetryRejection.None;
}

public enum SignalStatus { Missing, Stale, Fresh }

/// <summary>A signal as the rules see it at a given time.</summary>
public readonly record struct SignalReading(SignalDefinition Signal, SignalStatus Status, double Value, DateTimeOffset ReceivedAt)
{
    public bool IsFresh => Status == SignalStatus.Fresh;
    public bool AsBool => Value != 0;
    public string? AsGear => Status == SignalStatus.Missing ? null : TelemetrySignals.Gears[(int)Value];

    /// <summary>The value as JSON, in the signal's own type (for alert state and records).</summary>
    public JsonNode? ToJson() => Status == SignalStatus.Missing ? null : Signal.Kind switch
    {
        SignalKind.Boolean => JsonValue.Create(AsBool),
        SignalKind.Gear => JsonValue.Create(AsGear),
        SignalKind.Integer => JsonValue.Create((int)Value),
        _ => JsonValue.Create(Value),
    };

    /// <summary>"speed_kmh is stale (received 3.2 s ago)" — what a rule says when it cannot judge.</summary>
    public string Describe(DateTimeOffset now) => Status switch
    {
        SignalStatus.Missing => $"{Signal.Name} never received",
        SignalStatus.Stale => string.Create(CultureInfo.InvariantCulture,
            $"{Signal.Name} is stale (received {(now - ReceivedAt).TotalSeconds:0.0} s ago)"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{Signal.Name} = {Value}"),
    };
}

/// <summary>
/// The last good value of every telemetry signal, with when it was received and its source timestamp.
/// Bad messages are rejected with a reason and counted; they never overwrite good state.
/// Freshness is judged on the agent's own clock (receipt time), because ECU clocks may disagree with ours;
/// the source <c>ts_ms</c> only orders messages of one signal.
/// Not thread-safe: <see cref="SafetyLayer"/> serialises access.
/// </summary>
public sealed class VehicleStateStore
{
    private readonly double[] _values = new double[TelemetrySignals.All.Count];
    private readonly long[] _sourceTsMs = new long[TelemetrySignals.All.Count];
    private readonly DateTimeOffset[] _receivedAt = new DateTimeOffset[TelemetrySignals.All.Count];
    private readonly bool[] _present = new bool[TelemetrySignals.All.Count];
    private readonly TimeSpan[] _maxAge;
    private readonly SafetyCounters _counters;

    private static readonly string[] AcceptedCounter =
        TelemetrySignals.All.Select(s => $"{CounterNames.TelemetryAccepted}.{s.Name}").ToArray();

    public VehicleStateStore(SafetyOptions options, SafetyCounters counters)
    {
        _maxAge = TelemetrySignals.All.Select(options.MaxAge).ToArray();
        _counters = counters;
        Array.Fill(_sourceTsMs, long.MinValue);
    }

    /// <summary>
    /// Takes one MQTT telemetry message: <paramref name="topicSuffix"/> is the signal name, <c>telemetry/name</c> or the
    /// full topic,
    /// <paramref name="payload"/> the UTF-8 JSON <c>{"value": v, "ts_ms": optional}</c>.
    /// </summary>
    public IngestResult Ingest(string topicSuffix, ReadOnlySpan<byte> payload, DateTimeOffset receivedAt)
    {
        var name = SignalName(topicSuffix ?? "");
        if (!TelemetrySignals.TryGet(name, out var signal))
            return Reject(TelemetryRejection.UnknownSignal, $"unknown telemetry signal '{Truncate(name.ToString())}'", null);

        var parsed = Parse(signal, payload);
        if (parsed.Rejection != TelemetryRejection.None)
            return Reject(parsed.Rejection, parsed.Reason!, signal);

        var i = signal.Index;
        if (parsed.TsMs is { } ts && _present[i] && ts < _sourceTsMs[i])
            return Reject(TelemetryRejection.OutOfOrder,
                string.Create(CultureInfo.InvariantCulture, $"{signal.Name}: ts_ms {ts} is older than the stored {_sourceTsMs[i]}"), signal);

        _values[i] = parsed.Value;
        if (parsed.TsMs is { } t) _sourceTsMs[i] = t;
        _receivedAt[i] = receivedAt;
        _present[i] = true;
        _counters.Increment(AcceptedCounter[i]);
        return new IngestResult(TelemetryRejection.None, null, signal);
    }

    /// <summary>The signal part of <c>speed_kmh</c>, <c>telemetry/speed_kmh</c> or <c>vehicle/v1/telemetry/speed_kmh</c>.</summary>
    internal static ReadOnlySpan<char> SignalName(string topic)
    {
        var at = topic.LastIndexOf(TelemetrySignals.TopicPrefix, StringComparison.Ordinal);
        return at == 0 || (at > 0 && topic[at - 1] == '/') ? topic.AsSpan(at + TelemetrySignals.TopicPrefix.Length) : topic.AsSpan();
    }

    /// <summary>
    /// Applies a <c>vehicle_state</c> object (signal name → value, or → <c>{"value", "ts_ms"}</c>) as if each
    /// signal had been received at <paramref name="at"/>. Each entry is checked like a message.
    /// </summary>
    public IReadOnlyList<IngestResult> ApplySnapshot(JsonObject state, DateTimeOffset at)
    {
        var results = new List<IngestResult>(state.Count);
        foreach (var (name, node) in state)
        {
            var payload = node is JsonObject ? node.ToJsonString() : $"{{\"value\":{node?.ToJsonString() ?? "null"}}}";
            results.Add(Ingest(name, Encoding.UTF8.GetBytes(payload), at));
        }
        return results;
    }

    public SignalReading Read(SignalDefinition signal, DateTimeOffset now)
    {
        var i = signal.Index;
        if (!_present[i]) return new SignalReading(signal, SignalStatus.Missing, 0, default);
        // A receipt in the future (clock stepped back) counts as fresh: the value is the newest we have.
        var status = now - _receivedAt[i] > _maxAge[i] ? SignalStatus.Stale : SignalStatus.Fresh;
        return new SignalReading(signal, status, _values[i], _receivedAt[i]);
    }

    public SignalReading Read(string name, DateTimeOffset now) => Read(TelemetrySignals.Get(name), now);

    /// <summary>All signals present, fresh or not, as a <c>vehicle_state</c> object.</summary>
    public JsonObject Snapshot(DateTimeOffset now)
    {
        var json = new JsonObject();
        foreach (var s in TelemetrySignals.All)
        {
            var r = Read(s, now);
            if (r.Status != SignalStatus.Missing) json[s.Name] = r.ToJson();
        }
        return json;
    }

    private IngestResult Reject(TelemetryRejection rejection, string reason, SignalDefinition? signal)
    {
        _counters.Increment($"{CounterNames.TelemetryRejected}.{RejectionName(rejection)}");
        return new IngestResult(rejection, reason, signal);
    }

    public static string RejectionName(TelemetryRejection r) => r switch
    {
        TelemetryRejection.UnknownSignal => "unknown_signal",
        TelemetryRejection.Malformed => "malformed",
        TelemetryRejection.WrongType => "wrong_type",
        TelemetryRejection.OutOfRange => "out_of_range",
        TelemetryRejection.OutOfOrder => "out_of_order",
        _ => "none",
    };

    private readonly record struct Parsed(TelemetryRejection Rejection, string? Reason, double Value, long? TsMs);

    /// <summary>Reads <c>{"value": v, "ts_ms": n}</c> without building a DOM; other members are ignored.</summary>
    private static Parsed Parse(SignalDefinition signal, ReadOnlySpan<byte> payload)
    {
        double? value = null;
        long? ts = null;
        try
        {
            var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = 8 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                return Fail(TelemetryRejection.Malformed, $"{signal.Name}: payload is not a JSON object");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isValue = reader.ValueTextEquals("value"u8);
                var isTs = !isValue && reader.ValueTextEquals("ts_ms"u8);
                reader.Read();
                if (isValue)
                {
                    var v = ReadValue(signal, ref reader);
                    if (v.Rejection != TelemetryRejection.None) return v;
                    value = v.Value;
                }
                else if (isTs)
                {
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var t) || t < 0)
                        return Fail(TelemetryRejection.Malformed, $"{signal.Name}: ts_ms must be a non-negative integer");
                    ts = t;
                }
                else
                {
                    reader.Skip();
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
                return Fail(TelemetryRejection.Malformed, $"{signal.Name}: trailing data after the object");
        }
        catch (JsonException ex)
        {
            return Fail(TelemetryRejection.Malformed, $"{signal.Name}: invalid JSON ({Truncate(ex.Message)})");
        }
        if (value is null)
            return Fail(TelemetryRejection.Malformed, $"{signal.Name}: payload has no 'value'");
        return new Parsed(TelemetryRejection.None, null, value.Value, ts);
    }

    private static Parsed ReadValue(SignalDefinition signal, ref Utf8JsonReader reader)
    {
        switch (signal.Kind)
        {
            case SignalKind.Boolean:
                if (reader.TokenType is JsonTokenType.True or JsonTokenType.False)
                    return new Parsed(TelemetryRejection.None, null, reader.GetBoolean() ? 1 : 0, null);
                return Fail(TelemetryRejection.WrongType, $"{signal.Name}: value must be true or false");
            case SignalKind.Gear:
                if (reader.TokenType == JsonTokenType.String)
                {
                    for (var g = 0; g < TelemetrySignals.Gears.Count; g++)
                        if (reader.ValueTextEquals(TelemetrySignals.Gears[g]))
                            return new Parsed(TelemetryRejection.None, null, g, null);
                    return Fail(TelemetryRejection.OutOfRange, $"{signal.Name}: value must be one of P, R, N, D");
                }
                return Fail(TelemetryRejection.WrongType, $"{signal.Name}: value must be a string P, R, N or D");
            default:
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out var d) || !double.IsFinite(d))
                    return Fail(TelemetryRejection.WrongType, $"{signal.Name}: value must be a number");
                if (signal.Kind == SignalKind.Integer && d != Math.Floor(d))
                    return Fail(TelemetryRejection.WrongType, $"{signal.Name}: value must be an integer");
                if (d < signal.Min || d > signal.Max)
                    return Fail(TelemetryRejection.OutOfRange, string.Create(CultureInfo.InvariantCulture,
                        $"{signal.Name}: {d} outside {signal.Min}..{signal.Max} {signal.Unit}"));
                return new Parsed(TelemetryRejection.None, null, d, null);
        }
    }

    private static Parsed Fail(TelemetryRejection r, string reason) => new(r, reason, 0, null);

    private static string Truncate(string s) => s.Length <= 80 ? s : s[..80] + "…";
}
