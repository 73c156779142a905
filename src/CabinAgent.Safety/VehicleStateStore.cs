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
    /// <summary>Older than the stored value by no more than the skew window (a reordering): its source <c>ts_ms</c>
    /// against the last one of the signal, or, without one, its receipt time against the stored value's.</summary>
    OutOfOrder,
    /// <summary>Source <c>ts_ms</c> further ahead of the agent's clock than the skew window.</summary>
    Future,
    /// <summary>A retained message older than the signal's max age by its <c>ts_ms</c> against the agent's clock.</summary>
    RetainedStale,
    /// <summary>A retained message without <c>ts_ms</c>: nothing says how old it is.</summary>
    RetainedUnstamped,
}

/// <summary>How a telemetry message reached the agent.</summary>
public enum TelemetryOrigin
{
    /// <summary>Published while the agent was subscribed.</summary>
    Live,
    /// <summary>The broker's retained copy, handed over on (re)subscribing: it may be from before the agent started.</summary>
    Retained,
}

/// <param name="TsMs">The message's source <c>ts_ms</c>, when it had one and parsed.</param>
/// <param name="Resync">Set when an accepted message re-based its signal's timeline (the source clock stepped back
/// beyond the skew window): what happened, for the log.</param>
public readonly record struct IngestResult(TelemetryRejection Rejection, string? Reason, SignalDefinition? Signal,
    long? TsMs = null, string? Resync = null)
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
/// the source <c>ts_ms</c> orders messages of one signal, and is trusted only within the skew window of our clock:
/// further ahead it is <c>future</c> (else one message stamped far ahead would hold every later one off as out of
/// order); a step back beyond the window is the source's clock being reset, which re-bases the signal instead of
/// locking it out. Not thread-safe: <see cref="SafetyLayer"/> serialises access.
/// </summary>
public sealed class VehicleStateStore
{
    private readonly double[] _values = new double[TelemetrySignals.All.Count];
    private readonly long[] _sourceTsMs = new long[TelemetrySignals.All.Count];
    private readonly DateTimeOffset[] _receivedAt = new DateTimeOffset[TelemetrySignals.All.Count];
    private readonly bool[] _present = new bool[TelemetrySignals.All.Count];
    private readonly TimeSpan[] _maxAge;
    private readonly long _skewMs;
    private readonly SafetyCounters _counters;

    private static readonly string[] AcceptedCounter =
        TelemetrySignals.All.Select(s => $"{CounterNames.TelemetryAccepted}.{s.Name}").ToArray();

    private static readonly string[] ResyncCounter =
        TelemetrySignals.All.Select(s => $"{CounterNames.TelemetryResync}.{s.Name}").ToArray();

    public VehicleStateStore(SafetyOptions options, SafetyCounters counters)
    {
        _maxAge = TelemetrySignals.All.Select(options.MaxAge).ToArray();
        _skewMs = options.Telemetry.MaxClockSkewMs;
        _counters = counters;
        Array.Fill(_sourceTsMs, long.MinValue); // no source stamp yet
    }

    /// <summary>
    /// Takes one MQTT telemetry message: <paramref name="topicSuffix"/> is the signal name, <c>telemetry/name</c> or the
    /// full topic,
    /// <paramref name="payload"/> the UTF-8 JSON <c>{"value": v, "ts_ms": optional}</c>.
    /// </summary>
    public IngestResult Ingest(string topicSuffix, ReadOnlySpan<byte> payload, DateTimeOffset receivedAt,
        TelemetryOrigin origin = TelemetryOrigin.Live)
    {
        var name = SignalName(topicSuffix ?? "");
        if (!TelemetrySignals.TryGet(name, out var signal))
            return Reject(TelemetryRejection.UnknownSignal, $"unknown telemetry signal '{Truncate(name.ToString())}'", null);

        var parsed = Parse(signal, payload);
        if (parsed.Rejection != TelemetryRejection.None)
            return Reject(parsed.Rejection, parsed.Reason!, signal);

        var i = signal.Index;
        var ts = parsed.TsMs;
        var nowMs = receivedAt.ToUnixTimeMilliseconds();
        if (ts > nowMs + _skewMs)
            return Reject(TelemetryRejection.Future, string.Create(CultureInfo.InvariantCulture,
                $"{signal.Name}: ts_ms {ts} is more than {_skewMs} ms ahead of the agent's clock ({nowMs})"), signal, ts);

        var freshFrom = receivedAt;
        if (origin == TelemetryOrigin.Retained)
        {
            // The broker kept this from some time ago, maybe from before we started: only its stamp says how old it
            // is, and a stale "speed 0, gear P" must never open the gate.
            if (ts is not { } stamped)
                return Reject(TelemetryRejection.RetainedUnstamped,
                    $"{signal.Name}: retained value without ts_ms: its age cannot be judged", signal);
            var age = nowMs - stamped;
            if (age > (long)_maxAge[i].TotalMilliseconds)
                return Reject(TelemetryRejection.RetainedStale, string.Create(CultureInfo.InvariantCulture,
                    $"{signal.Name}: retained value is {age} ms old (ts_ms {stamped}, max age {_maxAge[i].TotalMilliseconds} ms)"), signal, ts);
            // Its age runs from when the source stamped it, not from when the broker handed it over.
            if (age > 0) freshFrom = DateTimeOffset.FromUnixTimeMilliseconds(stamped);
        }

        var (outOfOrder, resync) = Order(signal, ts, nowMs, origin);
        if (outOfOrder is not null)
            return Reject(TelemetryRejection.OutOfOrder, outOfOrder, signal, ts);
        if (resync is not null) _counters.Increment(ResyncCounter[i]);

        _values[i] = parsed.Value;
        if (ts is { } t) _sourceTsMs[i] = t;
        _receivedAt[i] = freshFrom;
        _present[i] = true;
        _counters.Increment(AcceptedCounter[i]);
        return new IngestResult(TelemetryRejection.None, null, signal, ts, resync);
    }

    /// <summary>
    /// Places a message on its signal's timeline: by its source <c>ts_ms</c> against the last source stamp, or, without
    /// one, by its receipt time against the stored value's. The two are never compared with each other (the source's
    /// clock and ours differ), so a source mixing stamped and unstamped messages cannot lock itself out. Older by up to
    /// the skew window is a reordering (rejected); older by more is a clock step (an ECU reboot, a clock correction, or
    /// our own clock stepping back): the message is taken and the signal re-based. A retained message is a copy of the
    /// past, never a clock step: older is always out of order.
    /// </summary>
    private (string? OutOfOrder, string? Resync) Order(SignalDefinition signal, long? ts, long receivedMs, TelemetryOrigin origin)
    {
        var i = signal.Index;
        long stamp, last;
        string what;
        if (ts is { } t)
        {
            if (_sourceTsMs[i] == long.MinValue) return default;
            (stamp, last, what) = (t, _sourceTsMs[i], "ts_ms");
        }
        else
        {
            if (!_present[i]) return default;
            (stamp, last, what) = (receivedMs, _receivedAt[i].ToUnixTimeMilliseconds(), "receipt time");
        }
        if (stamp >= last) return default;
        var back = last - stamp;
        if (back <= _skewMs || origin == TelemetryOrigin.Retained)
            return (string.Create(CultureInfo.InvariantCulture, $"{signal.Name}: {what} {stamp} is older than the stored {last}"), null);
        return (null, string.Create(CultureInfo.InvariantCulture,
            $"{signal.Name}: {what} stepped back {back} ms (from {last} to {stamp}), beyond the {_skewMs} ms window: re-based"));
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
        // A receipt further in the future than the skew window means our clock stepped back since: how old the value
        // is cannot be told any more, so it is stale (the gate then refuses rather than trust "parked" from before the
        // step). Found by the probe of issue #15: with a 1 h step back, a 0 km/h from before counted as fresh at 130 km/h.
        var age = now - _receivedAt[i];
        var status = age > _maxAge[i] || age < -TimeSpan.FromMilliseconds(_skewMs) ? SignalStatus.Stale : SignalStatus.Fresh;
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

    private IngestResult Reject(TelemetryRejection rejection, string reason, SignalDefinition? signal, long? ts = null)
    {
        _counters.Increment($"{CounterNames.TelemetryRejected}.{RejectionName(rejection)}");
        return new IngestResult(rejection, reason, signal, ts);
    }

    public static string RejectionName(TelemetryRejection r) => r switch
    {
        TelemetryRejection.UnknownSignal => "unknown_signal",
        TelemetryRejection.Malformed => "malformed",
        TelemetryRejection.WrongType => "wrong_type",
        TelemetryRejection.OutOfRange => "out_of_range",
        TelemetryRejection.OutOfOrder => "out_of_order",
        TelemetryRejection.Future => "future",
        TelemetryRejection.RetainedStale => "retained_stale",
        TelemetryRejection.RetainedUnstamped => "retained_unstamped",
        _ => "none",
    };

    private readonly record struct Parsed(TelemetryRejection Rejection, string? Reason, double Value, long? TsMs);

    /// <summary>
    /// Reads <c>{"value": v, "ts_ms": n}</c> without building a DOM; other members are ignored. A key given twice is
    /// malformed: JSON readers disagree on which one wins, so the ECU and we could read different values.
    /// </summary>
    private static Parsed Parse(SignalDefinition signal, ReadOnlySpan<byte> payload)
    {
        double? value = null;
        long? ts = null;
        HashSet<string>? otherKeys = null; // only payloads with extra members pay for it
        try
        {
            var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = 8 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                return Fail(TelemetryRejection.Malformed, $"{signal.Name}: payload is not a JSON object");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isValue = reader.ValueTextEquals("value"u8);
                var isTs = !isValue && reader.ValueTextEquals("ts_ms"u8);
                var duplicate = isValue ? (value is null ? null : "value") : isTs ? (ts is null ? null : "ts_ms") : null;
                if (!isValue && !isTs)
                {
                    // The reader checks a key's UTF-8 only when it is decoded; a broken key is malformed, not a crash.
                    string key;
                    try { key = reader.GetString()!; }
                    catch (InvalidOperationException) { return Fail(TelemetryRejection.Malformed, $"{signal.Name}: a key is not valid UTF-8"); }
                    if (!(otherKeys ??= new(StringComparer.Ordinal)).Add(key)) duplicate = key;
                }
                if (duplicate is not null)
                    return Fail(TelemetryRejection.Malformed, $"{signal.Name}: duplicate key '{Truncate(duplicate)}'");
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
        catch (InvalidOperationException)
        {
            // System.Text.Json throws this, not JsonException, for a string escape that is not text ("\ud800").
            return Fail(TelemetryRejection.Malformed, $"{signal.Name}: a string that is not valid text (an unpaired surrogate escape)");
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
