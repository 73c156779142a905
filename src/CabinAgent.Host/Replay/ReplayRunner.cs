using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using CabinAgent.Host.Composition;
using CabinAgent.Pipeline;
using CabinAgent.Safety;

namespace CabinAgent.Host.Replay;

/// <summary>
/// Feeds recorded utterances and telemetry through the real pipeline and safety layer, one output line per
/// input line in input order, plus a line for every alert or notice the safety layer raised. Time is the
/// trace's own (<c>t_ms</c>), so the same file gives the same alerts and gate decisions every run.
/// </summary>
internal sealed class ReplayRunner(UtterancePipeline pipeline, SafetyModule safety, SafetyReplayClock clock, SafetyObserver observer,
    CabinAgent.Speech.SpeechFrontEnd? speech = null)
{
    private static readonly JsonSerializerOptions LineJson = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = false,
    };

    public ReplaySummary Summary { get; } = new();

    public async Task RunAsync(IEnumerable<ReplayItem> items, TextWriter output, CancellationToken ct)
    {
        observer.Recording = true;
        foreach (var item in items)
        {
            ct.ThrowIfCancellationRequested();
            switch (item)
            {
                case TelemetryItem telemetry:
                    AdvanceTo(telemetry.TimeMs);
                    await WriteAsync(output, TelemetryLine(telemetry)).ConfigureAwait(false);
                    break;
                case UtteranceItem utterance:
                    if (utterance.TimeMs is { } t) AdvanceTo(t);
                    var stateLine = ApplyState(utterance);
                    if (utterance.StateOnly)
                    {
                        await WriteAsync(output, stateLine!).ConfigureAwait(false);
                        break;
                    }
                    var line = await ProcessUtteranceAsync(utterance, ct).ConfigureAwait(false);
                    if (stateLine?["error"] is { } stateError) line["vehicle_state_error"] = stateError.DeepClone();
                    await WriteAsync(output, line).ConfigureAwait(false);
                    break;
                case InvalidItem invalid:
                    await WriteAsync(output, InvalidLine(invalid)).ConfigureAwait(false);
                    break;
            }
            // Whatever the safety layer raised on the way (alerts, confirmation time-outs), after its cause.
            foreach (var raised in observer.Take())
                await WriteAsync(output, SafetyLine(raised)).ConfigureAwait(false);
        }
        await output.FlushAsync(ct).ConfigureAwait(false);
    }

    private static Task WriteAsync(TextWriter output, JsonObject line) => output.WriteLineAsync(line.ToJsonString(LineJson));

    /// <summary>Moves the trace's time forward, evaluating hold times and time-outs that fall due on the way.</summary>
    private void AdvanceTo(long tMs)
    {
        var t = DateTimeOffset.FromUnixTimeMilliseconds(tMs);
        safety.Layer.AdvanceTo(t);
        clock.SetUtcNow(t);
    }

    private long NowMs => clock.GetUtcNow().ToUnixTimeMilliseconds();

    private JsonObject? ApplyState(UtteranceItem item)
    {
        if (item.VehicleState is null) return null;
        var results = safety.Layer.ApplySnapshot(item.VehicleState, clock.GetUtcNow());
        var rejected = results.Where(r => !r.Accepted).Select(r => (JsonNode)r.Reason!).ToArray();
        Summary.AddState();
        return new JsonObject
        {
            ["t_ms"] = NowMs,
            ["id"] = item.Id,
            ["vehicle_state"] = item.VehicleState.DeepClone(),
            ["outcome"] = rejected.Length == 0 ? "applied" : "partly_rejected",
            ["error"] = rejected.Length == 0 ? null : new JsonArray(rejected),
        };
    }

    private async Task<JsonObject> ProcessUtteranceAsync(UtteranceItem item, CancellationToken ct)
    {
        var (text, lang, asr, audioError) = (item.Text, item.Lang, (JsonObject?)null, (string?)null);
        if (item.Audio is not null)
            (text, lang, asr, audioError) = await TranscribeAsync(item, ct).ConfigureAwait(false);
        // Latency is measured from the end of the transcript, as in the car: the ASR's own time is in "asr".
        // The id goes into MQTT user properties when replaying onto a broker: only a printable one is used as it is.
        var (id, idProblem) = UtteranceInput.ValidId(item.Id);
        var input = new UtteranceInput(id, text, lang, DecodeError: audioError) { AcceptedUnixMs = NowMs, IdProblem = idProblem };
        var record = await pipeline.ProcessAsync(input, ct).ConfigureAwait(false);
        Summary.Add(record);
        var line = ToLine(record);
        if (item.Audio is not null)
        {
            line["audio"] = item.Audio;
            line["asr"] = asr;
        }
        if (item.TimeMs is not null) line["t_ms"] = NowMs;
        return line;
    }

    private async Task<(string? Text, string? Lang, JsonObject? Asr, string? Error)> TranscribeAsync(UtteranceItem item, CancellationToken ct)
    {
        if (speech is null)
            return (null, null, null, "audio input needs a whisper model (--whisper-model or Speech:ModelPath)");
        try
        {
            var transcript = await speech.TranscribeFileAsync(item.Audio!, ct).ConfigureAwait(false);
            var asr = (JsonObject)System.Text.Json.JsonSerializer.SerializeToNode(transcript, LineJson)!;
            var lang = transcript.Language is "zh" or "en" ? transcript.Language : item.Lang;
            return transcript.IsEmpty
                ? (null, lang, asr, "no speech recognised" + (transcript.DroppedReason is { } why ? $" ({why})" : ""))
                : (transcript.Text, lang, asr, null);
        }
        catch (Exception ex) when (ex is CabinAgent.Speech.Audio.WavFormatException or IOException or CabinAgent.Speech.SpeechRecognitionException)
        {
            return (null, item.Lang, null, $"audio {Path.GetFileName(item.Audio)}: {ex.Message}");
        }
    }

    private JsonObject SafetyLine(object raised) => raised switch
    {
        SafetyAlert alert => Counted(new JsonObject { ["t_ms"] = NowMs, ["alert"] = alert.ToJson() }),
        SpokenNotice notice => new JsonObject
        {
            ["t_ms"] = NowMs,
            ["notice"] = new JsonObject { ["utterance_id"] = notice.UtteranceId, ["lang"] = notice.Lang, ["text"] = notice.Text },
        },
        _ => new JsonObject { ["t_ms"] = NowMs, ["safety"] = raised.ToString() },
    };

    private JsonObject Counted(JsonObject alertLine)
    {
        Summary.AddAlert();
        return alertLine;
    }

    private JsonObject InvalidLine(InvalidItem item)
    {
        Summary.AddInvalid();
        return new JsonObject
        {
            ["id"] = item.Id,
            ["text"] = null,
            ["tier"] = null,
            ["outcome"] = Outcome.Rejected.Wire(),
            ["command"] = null,
            ["error"] = item.Reason,
            ["latency_ms"] = new JsonObject(),
            ["topic"] = null,
        };
    }

    private JsonObject TelemetryLine(TelemetryItem item)
    {
        Summary.AddTelemetry();
        var result = safety.Layer.IngestTelemetry(item.Topic, System.Text.Encoding.UTF8.GetBytes(item.Payload.ToJsonString()), clock.GetUtcNow());
        return new JsonObject
        {
            ["t_ms"] = item.TimeMs,
            ["telemetry"] = item.Topic,
            ["outcome"] = result.Accepted ? "accepted" : "rejected",
            ["error"] = result.Reason,
        };
    }

    /// <summary>The replay output line of the spine's contract, plus diagnostics.</summary>
    public static JsonObject ToLine(UtteranceRecord record) => record.ToJsonLine();
}

/// <summary>Counts by outcome and tier, and latency percentiles; printed on stderr after a replay.</summary>
internal sealed class ReplaySummary
{
    private readonly List<double> _totals = [];

    public SortedDictionary<string, int> ByOutcome { get; } = new(StringComparer.Ordinal);
    public SortedDictionary<string, int> ByTier { get; } = new(StringComparer.Ordinal);
    public int Utterances { get; private set; }
    public int InvalidLines { get; private set; }
    public int TelemetryLines { get; private set; }
    public int StateLines { get; private set; }
    public int Alerts { get; private set; }

    public void Add(UtteranceRecord record)
    {
        Utterances++;
        Increment(ByOutcome, record.Outcome.Wire());
        Increment(ByTier, record.Tier?.Wire() ?? "none");
        _totals.Add(record.LatencyMs.GetValueOrDefault("total"));
    }

    public void AddInvalid()
    {
        InvalidLines++;
        Increment(ByOutcome, Outcome.Rejected.Wire());
        Increment(ByTier, "none");
    }

    public void AddTelemetry() => TelemetryLines++;

    public void AddState() => StateLines++;

    public void AddAlert() => Alerts++;

    public LatencySummary Latency => LatencySummary.Of(_totals);

    public string Format()
    {
        var latency = Latency;
        return string.Join(Environment.NewLine,
            $"replay: {Utterances + InvalidLines} utterance lines ({InvalidLines} unreadable), {TelemetryLines} telemetry lines, {StateLines} vehicle states, {Alerts} safety alerts",
            "  by outcome: " + string.Join(", ", ByOutcome.Select(kv => $"{kv.Key}={kv.Value}")),
            "  by tier:    " + string.Join(", ", ByTier.Select(kv => $"{kv.Key}={kv.Value}")),
            FormattableString.Invariant($"  latency transcript→outcome ms: p50={latency.P50:F2} p95={latency.P95:F2} p99={latency.P99:F2} max={latency.Max:F2}"));
    }

    private static void Increment(SortedDictionary<string, int> counts, string key) =>
        counts[key] = counts.GetValueOrDefault(key) + 1;
}
